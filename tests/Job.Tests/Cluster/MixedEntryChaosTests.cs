using System.Globalization;
using System.Text.RegularExpressions;
using Job.TestSilo;
using Job.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Job.Tests.Cluster;

/// <summary>
/// Issue 10.21: silo processes started through every entry point on one database — an <c>AddJobs</c>
/// host (Generic Host + UseOrleans + AddJobs), the facade (<c>Jobs.InitAsync</c>) and Job.Silo's command
/// line — form one cluster and run the same job types. Two of them are killed with kill -9 while their
/// jobs run, twice, so that every entry point dies once and every entry point rescues another's jobs.
/// Each killed silo's jobs must restart on a survivor within the rescue time README.md states, and every
/// job must complete exactly once. A silo that membership could not see (another cluster id, issue 10.2)
/// would leave its jobs running until the 5-minute heartbeat.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed partial class MixedEntryChaosTests(DatabaseFixture db, ITestOutputHelper output) : IClassFixture<DatabaseFixture>
{
    /// <summary>Jobs each silo runs at once: with as many blocking jobs as the cluster has slots, each silo
    /// holds exactly this many, so every victim is killed with work in hand.</summary>
    private const int Slots = 4;

    private static readonly Dictionary<string, string> s_common = new()
    {
        ["JOB_TEST_MAX_JOBS"] = Slots.ToString(CultureInfo.InvariantCulture),
        // Claim whenever a slot is free (not only below a low-water mark), so the blocking jobs spread to every slot.
        ["JOB_TEST_MIN_JOBS"] = Slots.ToString(CultureInfo.InvariantCulture),
        // Every entry point on one cluster: the service id too (Job.Silo's is set from it).
        ["JOB_TEST_SERVICE"] = "job-mixed",
    };

    [Fact(Timeout = 420_000)]
    public async Task Silos_of_every_entry_point_rescue_each_other_after_kill_9_within_the_stated_rescue_time()
    {
        var bound = ReadmeRescueBound();
        await using var cluster = await ClusterHarness.CreateAsync(await db.CreateDatabaseAsync(), output);
        var host1 = Start(cluster, "host", "host1");
        var facade1 = Start(cluster, "facade", "facade1");
        var silo1 = Start(cluster, "silo", "silo1");
        var host2 = Start(cluster, "host", "host2");
        await ReadyAsync(cluster, host1, facade1, silo1, host2);

        // Short jobs first: one cluster, the same job types on every entry point.
        const int shortJobs = 200;
        await cluster.SpawnWorkAsync(shortJobs, i => new CrashConfig(DurationMs: i % 20));
        Assert.True(await ClusterHarness.EventuallyAsync(() => cluster.AllCompletedAsync(shortJobs), TimeSpan.FromSeconds(120)),
            $"the short jobs did not all complete: {await cluster.EndStateAsync()}");
        var ranShort = (await cluster.RowsAsync("SELECT DISTINCT silo FROM test_runs")).Select(r => (string)r[0]!).ToHashSet(StringComparer.Ordinal);
        foreach (var silo in new[] { host1, facade1, silo1, host2 })
        {
            Assert.Contains(silo.Address!, ranShort);
        }

        // Round 1: the facade and Job.Silo die; the two AddJobs hosts take their jobs.
        var rescues = new List<double>();
        rescues.AddRange(await KillTwoMidRunAsync(cluster, victims: [facade1, silo1], survivors: [host1, host2], bound));

        // Round 2: a new facade and Job.Silo join; now the AddJobs hosts die and those two take their jobs.
        var facade2 = Start(cluster, "facade", "facade2");
        var silo2 = Start(cluster, "silo", "silo2");
        await ReadyAsync(cluster, facade2, silo2);
        rescues.AddRange(await KillTwoMidRunAsync(cluster, victims: [host1, host2], survivors: [facade2, silo2], bound));

        // Everything spawned completed, once; nothing is left running.
        var total = await cluster.ScalarAsync<long>("SELECT count(*) FROM jobs");
        Assert.True(await ClusterHarness.EventuallyAsync(async () => await cluster.AllCompletedAsync(total)
                && await cluster.ScalarAsync<long>("SELECT count(*) FROM job_executions") == 0, TimeSpan.FromSeconds(60)),
            $"not every job completed: {await cluster.EndStateAsync()}");
        var end = await cluster.EndStateAsync();
        cluster.Log(end.ToString());
        Assert.Equal(total, end.Completed);
        Assert.Equal(total, end.JobCompletedEvents);
        Assert.Equal(0, end.JobsCompletedTwice);
        Assert.Equal(0, end.LiveExecutions);
        Assert.Equal(rescues.Count, end.SiloLostEvents); // every job a victim held (two rounds, two victims each), rescued once
        Assert.Equal(0, end.JobLostEvents);

        var report = string.Create(CultureInfo.InvariantCulture,
            $"MIXED ENTRY CHAOS kill -9 → restart on a survivor: {rescues.Count} jobs, {rescues.Min():F1}–{rescues.Max():F1} s (bound {bound.TotalSeconds:F0} s from README.md); {end}");
        cluster.Log(report);
        File.AppendAllText(Path.Combine(AppContext.BaseDirectory, "rescue-report.txt"), $"{DateTime.UtcNow:O} {report}{Environment.NewLine}");
        Assert.False(facade2.HasExited || silo2.HasExited, "a surviving silo exited");
    }

    /// <summary>
    /// Fills every slot of the cluster with blocking jobs, lets the survivors' jobs finish so they have
    /// room, kills both victims at once with kill -9 while their jobs run, and waits until each job the
    /// victims held started again on a survivor. The victims' jobs are released once the victims are
    /// dead, so a restarted job ends at once and never waits behind another for a runner: what is
    /// measured is the rescue alone. Returns the seconds from the kill to each restart (one per job the
    /// victims held), each checked against <paramref name="bound"/>.
    /// </summary>
    private static async Task<IReadOnlyList<double>> KillTwoMidRunAsync(ClusterHarness cluster, SiloProcess[] victims, SiloProcess[] survivors, TimeSpan bound)
    {
        var silos = victims.Concat(survivors).ToArray();
        var blocks = new List<Guid>();
        async Task SpawnBlocksAsync(int count)
        {
            var specs = Enumerable.Range(0, count).Select(_ => new JobSpec<BlockConfig>(JobId.New(), new BlockConfig())).ToList();
            await cluster.Block.SpawnAllAsync(specs);
            blocks.AddRange(specs.Select(spec => spec.Id.Value));
        }

        // As many blocking jobs as the cluster has slots. A silo claims ahead only of short jobs, by how
        // fast its runs ended just before: one that claims these right after the short jobs may take a
        // few more than its slots (they wait in its buffer), leaving another silo short; once every job
        // is claimed, the shortfall is spawned again. Blocking runs never end, so by then no silo claims
        // ahead, and the new jobs go to the silos with free runners.
        await SpawnBlocksAsync(silos.Length * Slots);
        Dictionary<string, Guid[]> claimed = [];
        Dictionary<string, long> running = [];
        Guid[] Held(SiloProcess silo) => claimed.GetValueOrDefault(silo.Address!) ?? [];
        long Running(SiloProcess silo) => running.GetValueOrDefault(silo.Address!);
        string Claims() => string.Join(", ", claimed.Select(kv => $"{kv.Key}={kv.Value.Length}"));
        Assert.True(await ClusterHarness.EventuallyAsync(async () =>
        {
            var spawned = blocks.ToArray();
            claimed = (await cluster.RowsAsync("SELECT claimed_by, id FROM job_executions WHERE id = ANY(@ids) AND claimed_by IS NOT NULL", ("ids", spawned)))
                .GroupBy(r => (string)r[0]!, r => (Guid)r[1]!).ToDictionary(g => g.Key, g => g.ToArray());
            running = (await cluster.RowsAsync("SELECT silo, count(*) FROM test_runs WHERE job_id = ANY(@ids) GROUP BY silo", ("ids", spawned)))
                .ToDictionary(r => (string)r[0]!, r => (long)r[1]!);
            var shortfall = silos.Sum(s => Slots - (int)Running(s));
            // Settled: nothing pending, and no silo holds a claim beside a free runner.
            var settled = claimed.Values.Sum(c => c.Length) == spawned.Length && silos.All(s => Running(s) == Slots || Held(s).Length == Running(s));
            if (shortfall > 0 && settled)
            {
                await SpawnBlocksAsync(shortfall);
            }

            return shortfall == 0;
        }, TimeSpan.FromSeconds(60)),
            $"the blocking jobs did not fill every silo's slots: claimed {Claims()}; running {string.Join(", ", running.Select(kv => $"{kv.Key}={kv.Value}"))}");
        var ids = blocks.ToArray();
        cluster.Log($"blocking jobs: {ids.Length} spawned; claimed {Claims()}");

        // The survivors finish theirs (and any job a top-up left unclaimed), so they have room for every job of the victims.
        var victimJobs = victims.SelectMany(Held).ToArray();
        var survivorJobs = ids.Except(victimJobs).ToArray();
        await ReleaseAsync(cluster, survivorJobs);
        Assert.True(await ClusterHarness.EventuallyAsync(async () =>
                await cluster.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE id = ANY(@ids) AND terminal_state = 'completed'", ("ids", survivorJobs)) == survivorJobs.Length,
            TimeSpan.FromSeconds(30)), "the survivors' blocking jobs did not complete once released");

        var survivorAddresses = survivors.Select(s => s.Address!).ToArray();
        var killedAt = DateTime.UtcNow;
        foreach (var victim in victims)
        {
            victim.Kill9();
        }

        foreach (var victim in victims)
        {
            Assert.True(await victim.WaitForExitAsync(TimeSpan.FromSeconds(10)), $"{victim.Label} did not die");
        }

        cluster.Log($"kill -9 {string.Join(" and ", victims.Select(v => v.Label))} holding {victimJobs.Length} jobs ({victims.Length * Slots} running); survivors {string.Join(", ", survivors.Select(s => s.Label))}");
        await ReleaseAsync(cluster, victimJobs);

        // Each job the victims held starts again on a survivor.
        Assert.True(await ClusterHarness.EventuallyAsync(async () =>
                await cluster.ScalarAsync<long>("SELECT count(DISTINCT job_id) FROM test_runs WHERE job_id = ANY(@ids) AND silo = ANY(@survivors)",
                    ("ids", victimJobs), ("survivors", survivorAddresses)) == victimJobs.Length,
            TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(100)),
            $"the jobs of {string.Join(" and ", victims.Select(v => v.Label))} did not all restart on a survivor within 90 s: {await cluster.EndStateAsync()}");
        var restarts = (await cluster.RowsAsync(
                "SELECT job_id, min(started_at) FROM test_runs WHERE job_id = ANY(@ids) AND silo = ANY(@survivors) GROUP BY job_id",
                ("ids", victimJobs), ("survivors", survivorAddresses)))
            .Select(r => (Id: (Guid)r[0]!, After: ((DateTime)r[1]!).ToUniversalTime() - killedAt))
            .ToList();
        cluster.Log(string.Create(CultureInfo.InvariantCulture,
            $"restarted on survivors {restarts.Min(r => r.After.TotalSeconds):F1}–{restarts.Max(r => r.After.TotalSeconds):F1} s after the kill"));
        Assert.All(restarts, r => Assert.True(r.After <= bound,
            $"job {r.Id} restarted {r.After.TotalSeconds:F1} s after its silo was killed; README.md states {bound.TotalSeconds:F0} s"));
        foreach (var victim in victims)
        {
            Assert.Equal(ClusterHarness.SiloStatusDead, await cluster.MembershipStatusAsync(victim.Address!));
        }

        // Rescued by membership (silo_lost), once each: not by the heartbeat, not twice.
        Assert.Equal(victimJobs.Length, await cluster.ScalarAsync<long>(
            "SELECT count(*) FROM job_events WHERE job_id = ANY(@ids) AND event_type = 'silo_lost'", ("ids", victimJobs)));

        Assert.True(await ClusterHarness.EventuallyAsync(async () =>
                await cluster.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE id = ANY(@ids) AND terminal_state = 'completed'", ("ids", ids)) == ids.Length,
            TimeSpan.FromSeconds(30)), "the rescued jobs did not complete");
        return [.. restarts.Select(r => r.After.TotalSeconds)];
    }

    private static SiloProcess Start(ClusterHarness cluster, string entry, string label) =>
        cluster.StartSilo(new Dictionary<string, string>(s_common) { ["JOB_TEST_ENTRY"] = entry }, label);

    private static async Task ReadyAsync(ClusterHarness cluster, params SiloProcess[] silos)
    {
        foreach (var silo in silos)
        {
            var address = await silo.WaitReadyAsync(ClusterHarness.ReadyTimeout);
            cluster.Log($"{silo.Label} (pid {silo.Pid}) ready as {address}");
        }
    }

    private static Task ReleaseAsync(ClusterHarness cluster, Guid[] jobs) =>
        cluster.ExecuteAsync("INSERT INTO test_release (job_id) SELECT unnest(@ids) ON CONFLICT DO NOTHING", ("ids", jobs));

    /// <summary>The rescue time README.md promises for a silo killed with kill -9, from its reliability table.</summary>
    private static TimeSpan ReadmeRescueBound()
    {
        var readme = File.ReadAllText(Path.Combine(BuiltPrograms.RepositoryRoot(), "README.md"));
        var match = RescueRow().Match(readme);
        Assert.True(match.Success, "README.md's reliability table states no rescue time for kill -9 of silos of every entry point");
        return TimeSpan.FromSeconds(int.Parse(match.Groups["seconds"].Value, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"^\| `kill -9` of silos started through every entry point[^|]*\| [^|]*?within (?<seconds>[0-9]+) s", RegexOptions.Multiline)]
    private static partial Regex RescueRow();
}
