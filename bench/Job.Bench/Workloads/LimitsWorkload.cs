using Job.Bench.Infrastructure;
using Job.Bench.Reporting;

namespace Job.Bench.Workloads;

/// <summary>
/// Flow control's cost (issue 13.3): the throughput workload's drain (N no-op jobs spawned in bulk,
/// then drained) with no limit, with a cluster-wide concurrency limit and with a rate limit that are
/// not the bottleneck (set above what the silos can run or start), on one silo and on two (where every
/// claim of a limited type takes the type's row lock in turn). Each setting runs several times,
/// interleaved, and reports its median; the loss is against the no-limit median of the same silo
/// count (target ≤ 20 %). Two more runs show limits that do bind: a rate of 2,000 a second and at most
/// 20 running.
/// </summary>
public sealed class LimitsWorkload : IWorkload
{
    public string Name => "limits";

    private sealed record Setting(string Key, string Label, int? MaxRunning, JobRateLimit? Rate);

    private static readonly Setting[] s_notBinding =
    [
        new("none", "no limit", null, null),
        new("concurrency", "concurrency limit 1,000 (not binding)", 1000, null),
        new("rate", "rate limit 1,000,000 per 10 s (not binding)", null, new JobRateLimit(1_000_000, TimeSpan.FromSeconds(10))),
    ];

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var runs = new List<(int Silos, Setting Setting, double Rate)>();
        foreach (var silos in new[] { 1, 2 })
        {
            for (var rep = 0; rep < o.LimitsRepeats; rep++)
            {
                foreach (var setting in s_notBinding)
                {
                    var rate = await RunOnceAsync(context, silos, setting, o.Jobs, ct).ConfigureAwait(false);
                    runs.Add((silos, setting, rate));
                    Console.WriteLine($"  limits {silos} silo(s), {setting.Label}, run {rep + 1}: {rate:N0} jobs/s (load {ResourceSampler.LoadAverage()})");
                }
            }
        }

        var medians = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var silos in new[] { 1, 2 })
        {
            var baseline = Median(runs.Where(r => r.Silos == silos && r.Setting.Key == "none").Select(r => r.Rate));
            result.Metric($"none_{silos}_per_s", $"{silos} silo(s), no limit (median of {o.LimitsRepeats})", baseline, "jobs/s");
            medians[$"none_{silos}"] = Math.Round(baseline);
            foreach (var setting in s_notBinding.Skip(1))
            {
                var median = Median(runs.Where(r => r.Silos == silos && r.Setting.Key == setting.Key).Select(r => r.Rate));
                var loss = (baseline - median) / baseline * 100;
                result.Metric($"{setting.Key}_{silos}_per_s", $"{silos} silo(s), {setting.Label} (median of {o.LimitsRepeats})", median, "jobs/s")
                      .Metric($"{setting.Key}_{silos}_loss_pct", $"{silos} silo(s), {setting.Key} limit: loss vs no limit", loss, "%", "≤ 20 %");
                medians[$"{setting.Key}_{silos}"] = Math.Round(median);
            }
        }

        var jobsBinding = Math.Max(1000, o.Jobs / 5);
        var rated = await RunOnceAsync(context, 1, new Setting("rate_binding", "rate limit 2,000/s (binding)", null, new JobRateLimit(2000, TimeSpan.FromSeconds(1))), jobsBinding, ct).ConfigureAwait(false);
        var capped = await RunOnceAsync(context, 1, new Setting("concurrency_binding", "at most 20 running (binding)", 20, null), jobsBinding, ct).ConfigureAwait(false);
        result.Metric("rate_binding_per_s", "1 silo, rate limit 2,000/s (binding; a full bucket of 2,000 starts at once)", rated, "jobs/s", "≈ 2,000 + burst")
              .Metric("concurrency_binding_per_s", "1 silo, at most 20 running (binding)", capped, "jobs/s")
              .Data("jobs", o.Jobs)
              .Data("jobs_binding", jobsBinding)
              .Data("medians", medians)
              .Data("runs", runs.Select(r => new { silos = r.Silos, setting = r.Setting.Key, per_s = Math.Round(r.Rate) }).ToList());
        result.Note($"Each no-limit/limit setting ran {o.LimitsRepeats} times, interleaved, {o.Jobs:N0} no-op jobs per run, poller {o.PollerConfigs[0].Max}/{o.PollerConfigs[0].Min}; " +
                    "the two silos share this process (one CPU budget). Rates per run: " +
                    string.Join("; ", runs.Select(r => $"{r.Silos}×{r.Setting.Key} {r.Rate:N0}")) + ".");
        result.Note($"Binding runs, {jobsBinding:N0} jobs each on 1 silo: rate 2,000/s → {rated:N0} jobs/s; at most 20 running → {capped:N0} jobs/s.");
    }

    private static async Task<double> RunOnceAsync(BenchContext context, int silos, Setting setting, int jobs, CancellationToken ct)
    {
        var o = context.Options;
        var probe = new RunProbe();
        await using var db = await context.Postgres.CreateDatabaseAsync("limits", ct).ConfigureAwait(false);
        await using var cluster = await SiloCluster.StartAsync(db, silos, o.DefaultPoller, probe, ct).ConfigureAwait(false);
        await using (var client = JobClient.Create(new JobClientOptions { ConnectionString = db.ConnectionString }))
        {
            var type = new JobType(BenchInitializer.DefaultType);
            if (setting.MaxRunning is { } max)
            {
                await client.FlowControl.SetConcurrencyLimitAsync(type, max, "bench", ct).ConfigureAwait(false);
            }

            if (setting.Rate is { } rate)
            {
                await client.FlowControl.SetRateLimitAsync(type, rate, "bench", ct).ConfigureAwait(false);
            }
        }

        await cluster.SpawnBulkAsync(jobs, o.SpawnBatch, null, ct).ConfigureAwait(false);
        var timeout = BenchContext.TimeoutFor(jobs);
        var before = context.Sampler.Take();
        await cluster.StartPollingAsync(ct).ConfigureAwait(false);
        await probe.WaitForAsync(jobs, timeout, ct).ConfigureAwait(false);
        await db.WaitUntilDrainedAsync(BenchInitializer.DefaultType, timeout, ct, 2).ConfigureAwait(false);
        var after = context.Sampler.Take();
        await db.VerifyCompletedAsync(BenchInitializer.DefaultType, jobs, ct).ConfigureAwait(false);
        return jobs / ResourceSampler.Between(before, after).WallSeconds;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
