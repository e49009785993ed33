using Job.Bench.Infrastructure;
using Job.Bench.Reporting;
using Job.Storage;
using Npgsql;

namespace Job.Bench.Workloads;

/// <summary>
/// The same job lifecycle as plain batched SQL, without Orleans: the runtime's own statements
/// (spawn with unnest arrays, the SKIP LOCKED claim, complete = DELETE + history inserts), but
/// claimed and completed in batches by K concurrent workers. Same server, same run.
/// </summary>
public sealed class CeilingWorkload : IWorkload
{
    private const string JobTypeName = "bench.ceiling";

    public string Name => "ceiling";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var runs = new List<(int Workers, int Batch, double Insert, double Processed, ResourceSampler.Usage Usage)>();
        foreach (var (workers, batch) in context.Options.CeilingConfigs)
        {
            var run = await RunOnceAsync(context, workers, batch, ct).ConfigureAwait(false);
            runs.Add((workers, batch, run.Insert, run.Processed, run.Usage));
            Console.WriteLine($"  ceiling {workers} workers × batch {batch}: insert {run.Insert:N0}/s, processed {run.Processed:N0}/s");
        }

        var best = runs.MaxBy(r => r.Processed);
        context.CeilingThroughput = best.Processed;
        result.Metric("processed_per_s", $"plain SQL processed ({best.Workers} workers × batch {best.Batch})", best.Processed, "jobs/s")
              .Metric("insert_per_s", "plain SQL insert rate (unnest, × " + context.Options.SpawnBatch + ")", runs.Max(r => r.Insert), "jobs/s")
              .Data("jobs", context.Options.Jobs)
              .Data("runs", runs.Select(r => new
              {
                  workers = r.Workers,
                  batch = r.Batch,
                  insert_per_s = Math.Round(r.Insert),
                  processed_per_s = Math.Round(r.Processed),
                  process_cores = Math.Round(r.Usage.ProcessCores, 2),
                  postgres_cores = Math.Round(r.Usage.PostgresCores, 2),
              }).ToList())
              .Note("Statements are the runtime's embedded spawn, claim and finish statements (job_spawn, job_claim, job_finish), called through QueueStore/JobSpawnStore " +
                    "with no Orleans, no grains and no runner: each worker loops claim(batch) → complete(the whole batch in one statement).");
        foreach (var r in runs)
        {
            result.Note($"{r.Workers} workers × batch {r.Batch}: insert {r.Insert:N0} jobs/s, processed {r.Processed:N0} jobs/s; " +
                        $"CPU: bench process {r.Usage.ProcessCores:0.00} cores, postgres {r.Usage.PostgresCores:0.00} cores.");
        }
    }

    private static async Task<(double Insert, double Processed, ResourceSampler.Usage Usage)> RunOnceAsync(BenchContext context, int workers, int batch, CancellationToken ct)
    {
        var n = context.Options.Jobs;
        await using var db = await context.Postgres.CreateDatabaseAsync("ceiling", ct).ConfigureAwait(false);
        await using var dataSource = NpgsqlDataSource.Create(db.ConnectionString);
        var database = new JobDatabase(dataSource, JobSchema.Default);
        var spawns = new JobSpawnStore(database);
        var queue = new QueueStore(database);
        var type = new JobType(JobTypeName);

        var insertStart = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var done = 0; done < n; done += context.Options.SpawnBatch)
        {
            var rows = new NewJob[Math.Min(context.Options.SpawnBatch, n - done)];
            var now = DateTimeOffset.UtcNow;
            for (var i = 0; i < rows.Length; i++)
            {
                rows[i] = new NewJob(JobId.New(), "{}", now, null);
            }

            await spawns.InsertAsync(type, rows, unique: false, null, now, null, ct).ConfigureAwait(false);
        }

        var insertRate = n / System.Diagnostics.Stopwatch.GetElapsedTime(insertStart).TotalSeconds;

        long completed = 0;
        var before = context.Sampler.Take();
        var tasks = Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
        {
            string[] types = [JobTypeName];
            var silo = new SiloIdentity($"ceiling-{w}", null, "", 0, 0);
            while (Interlocked.Read(ref completed) < n)
            {
                var claims = (await queue.ClaimAsync(types, [batch], [0], batch, silo, DateTimeOffset.UtcNow, ct).ConfigureAwait(false)).Claims;
                if (claims.Count == 0)
                {
                    await Task.Delay(1, ct).ConfigureAwait(false); // the rest is held by other workers
                    continue;
                }

                var done = await queue.FinishAsync([.. claims.Select(c => new global::Job.Completion.RunOutcome(c, global::Job.Completion.OutcomeKind.Completed))], DateTimeOffset.UtcNow, null, ct).ConfigureAwait(false);
                Interlocked.Add(ref completed, done.Count);
            }
        }, ct)).ToList();
        await Task.WhenAll(tasks).WaitAsync(BenchContext.TimeoutFor(n), ct).ConfigureAwait(false);
        var after = context.Sampler.Take();
        await db.VerifyCompletedAsync(JobTypeName, n, ct).ConfigureAwait(false);
        var usage = ResourceSampler.Between(before, after);
        return (insertRate, n / usage.WallSeconds, usage);
    }
}
