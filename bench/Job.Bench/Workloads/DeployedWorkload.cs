using System.Globalization;
using Job.Bench.Infrastructure;
using Job.Bench.Reporting;
using Job.BenchWorker;

namespace Job.Bench.Workloads;

/// <summary>
/// The runtime in the shape users deploy it: this process is the application (it spawns, with no
/// silo), and worker silos run in their own processes (<c>bench/Job.BenchWorker</c>).
/// <list type="bullet">
/// <item>Throughput, per shape (worker processes × MaxJobsPerProcess/Min): N no-op jobs spawned in bulk
/// before the workers start; jobs/s = N / (last completion − first start), cold start included. The
/// first start is the earliest first run any worker saw (its UTC wall clock, kept in memory); the
/// last completion is <c>max(jobs.finished_at)</c> (the completing worker's clock). Each worker's CPU
/// time (/proc/&lt;pid&gt;/stat) per job it ran, its RSS and peak RSS; PostgreSQL's CPU.</item>
/// <item>Latency: one idle worker at the defaults (50/30); single <c>SpawnAsync</c> calls 10 ms apart;
/// spawn → start = the run's UTC wall clock minus the UTC wall clock read just before the call. Two
/// phases on the same worker and spawning client: "fresh", 200 calls after 20 unmeasured ones, the
/// first seconds of both processes; then "steady", after <see cref="SteadyWarmUp"/> more unmeasured
/// calls, the headline: an idle cluster as an application meets it. The tail of the first seconds is
/// the two processes' warm-up (tiered compilation of the spawn and run paths, among others): in two
/// runs of 1,000 calls after the 20, the calls over 6 ms fell mostly in the first 400, and the last
/// 500 had p99 4.35 and 4.79 ms against 9.77 and 9.93 for the first 200.</item>
/// </list>
/// The wait for the end reads the workers' in-memory run counters (RUNS) every 100 ms, then the
/// queue; nothing is written per job for the measurement.
/// </summary>
public sealed class DeployedWorkload : IWorkload
{
    private const int LatencyWarmUp = 20;
    private const int FreshSamples = 200;
    /// <summary>Unmeasured calls between the fresh and the steady phase: with the fresh phase's 220,
    /// about 5 s of calls since the first.</summary>
    private const int SteadyWarmUp = 300;
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan s_stopTimeout = TimeSpan.FromSeconds(60);

    public string Name => "deployed";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var load = ResourceSampler.LoadAverage();
        Console.WriteLine($"  load average at start {load}; worker logs in {context.WorkerLogDirectory}");
        var runs = new List<ShapeRun>();
        LatencyRun? latency = null;
        LatencyRun? fresh = null;
        for (var i = 0; i < o.DeployedShapes.Count; i++)
        {
            // The smoke run measures latency on its one worker once it has drained, to stay short.
            var withLatency = o.Quick && i == 0;
            var (run, lat) = await ThroughputAsync(context, o.DeployedShapes[i], withLatency, ct).ConfigureAwait(false);
            runs.Add(run);
            latency ??= lat;
            Console.WriteLine($"  {run.Shape.Workers} worker(s) at {run.Shape.Max}/{run.Shape.Min}: {run.JobsPerSecond:N0} jobs/s " +
                              $"(first start → last completion {run.WindowSeconds:0.00} s); worker CPU {run.WorkerCpuMicrosPerJob:N0} µs/job; " +
                              $"postgres {run.PostgresCores:0.00} cores");
        }

        if (!o.Quick)
        {
            (fresh, latency) = await LatencyOnFreshWorkerAsync(context, ct).ConfigureAwait(false);
        }

        Report(context, result, load, runs, latency, fresh);
    }

    private static async Task<(ShapeRun Run, LatencyRun? Latency)> ThroughputAsync(BenchContext context, DeployedShape shape, bool withLatency, CancellationToken ct)
    {
        var o = context.Options;
        var n = o.DeployedJobs;
        await using var db = await context.Postgres.CreateDatabaseAsync("deployed", ct).ConfigureAwait(false);
        await StartRecords.CreateTableAsync(db, ct).ConfigureAwait(false);
        await using var app = new AppSpawner(db.ConnectionString);
        var spawnTime = await app.SpawnNoopBulkAsync(n, o.SpawnBatch, ct).ConfigureAwait(false);

        var workers = new List<WorkerProcess>();
        try
        {
            var before = context.Sampler.Take();
            for (var w = 1; w <= shape.Workers; w++)
            {
                var label = $"deployed-{shape.Workers}x{shape.Max}-{shape.Min}-w{w}-{db.Name}";
                workers.Add(WorkerProcess.Start(new WorkerProcess.Launch(db.ConnectionString, db.Name, shape.Max, shape.Min, Label: label), context.WorkerLogDirectory));
            }

            await Task.WhenAll(workers.Select(w => w.WaitReadyAsync(s_readyTimeout, ct))).ConfigureAwait(false);
            var timeout = BenchContext.TimeoutFor(n) + s_readyTimeout;
            await WaitForRunsAsync(workers, n, timeout, ct).ConfigureAwait(false);
            await db.WaitUntilDrainedAsync(WorkerJobTypes.Noop, timeout, ct, pollMilliseconds: 20).ConfigureAwait(false);
            var after = context.Sampler.Take();

            // /proc first (free for the worker), then the worker's own counters.
            var cpu = workers.Select(w => w.Cpu()).ToList();
            var memory = workers.Select(w => w.Memory()).ToList();
            var stats = new List<WorkerStats>();
            foreach (var w in workers)
            {
                stats.Add(await w.StatsAsync(ct).ConfigureAwait(false));
            }

            await db.VerifyCompletedAsync(WorkerJobTypes.Noop, n, ct).ConfigureAwait(false);
            var lastCompletion = await LastCompletionAsync(db, ct).ConfigureAwait(false);
            var firstStart = stats.Where(s => s.FirstRunUtc is not null).Min(s => s.FirstRunUtc!.Value);
            var ran = stats.Sum(s => s.NoopRuns);
            if (ran < n)
            {
                throw new BenchCheckException($"The workers counted {ran} runs of {n} completed jobs.");
            }

            LatencyRun? latency = null;
            if (withLatency)
            {
                latency = await LatencyAsync(db, app, workers[0], o.DeployedLatencySamples, Math.Min(LatencyWarmUp, 5), before: 0, ct).ConfigureAwait(false);
            }

            var usage = ResourceSampler.Between(before, after);
            var workerRuns = workers.Select((w, i) => WorkerRun.Of(w, stats[i], cpu[i], memory[i])).ToList();
            foreach (var w in workers)
            {
                var (seconds, graceful) = await w.StopAsync(s_stopTimeout).ConfigureAwait(false);
                workerRuns[workers.IndexOf(w)] = workerRuns[workers.IndexOf(w)] with { StopSeconds = seconds, StoppedGracefully = graceful };
            }

            var window = (lastCompletion - firstStart).TotalSeconds;
            return (new ShapeRun(shape, n, n / spawnTime.TotalSeconds, window, n / window,
                (firstStart - workers.Min(w => w.LaunchedUtc)).TotalSeconds, usage.PostgresCores, usage.ProcessCores, usage.WallSeconds, workerRuns), latency);
        }
        finally
        {
            foreach (var w in workers)
            {
                await w.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<(LatencyRun Fresh, LatencyRun Steady)> LatencyOnFreshWorkerAsync(BenchContext context, CancellationToken ct)
    {
        var defaults = new JobPollerConfig();
        await using var db = await context.Postgres.CreateDatabaseAsync("deployed_latency", ct).ConfigureAwait(false);
        await StartRecords.CreateTableAsync(db, ct).ConfigureAwait(false);
        await using var app = new AppSpawner(db.ConnectionString);
        await using var worker = WorkerProcess.Start(
            new WorkerProcess.Launch(db.ConnectionString, db.Name, defaults.MaxJobsPerProcess, defaults.MinJobsPerProcess, Label: $"deployed-latency-{db.Name}"),
            context.WorkerLogDirectory);
        await worker.WaitReadyAsync(s_readyTimeout, ct).ConfigureAwait(false);
        await Task.Delay(2000, ct).ConfigureAwait(false); // the type grains are ensured in the background after start
        var fresh = await LatencyAsync(db, app, worker, FreshSamples, LatencyWarmUp, before: 0, ct).ConfigureAwait(false);
        var steady = await LatencyAsync(db, app, worker, context.Options.DeployedLatencySamples, SteadyWarmUp, before: LatencyWarmUp + FreshSamples, ct).ConfigureAwait(false);
        await worker.StopAsync(s_stopTimeout).ConfigureAwait(false);
        return (fresh, steady);
    }

    /// <summary>One phase of paced spawns; <paramref name="before"/>: the start jobs earlier phases completed on this database.</summary>
    private static async Task<LatencyRun> LatencyAsync(BenchDatabase db, AppSpawner app, WorkerProcess worker, int samples, int warmUp, int before, CancellationToken ct)
    {
        var interval = TimeSpan.FromMilliseconds(10);
        var timeout = BenchContext.TimeoutFor(samples);
        var warm = await app.SpawnRecordStartPacedAsync(warmUp, interval, ct).ConfigureAwait(false);
        await StartRecords.WaitAsync(db, warm, timeout, ct).ConfigureAwait(false);
        await Task.Delay(500, ct).ConfigureAwait(false);

        var cpuBefore = worker.Cpu();
        var spawns = await app.SpawnRecordStartPacedAsync(samples, interval, ct).ConfigureAwait(false);
        await StartRecords.WaitAsync(db, spawns, timeout, ct).ConfigureAwait(false);
        await db.WaitUntilDrainedAsync(WorkerJobTypes.RecordStart, timeout, ct, pollMilliseconds: 20).ConfigureAwait(false);
        var cpu = worker.Cpu() - cpuBefore;
        await db.VerifyCompletedAsync(WorkerJobTypes.RecordStart, before + warmUp + samples, ct).ConfigureAwait(false);
        var latency = await StartRecords.ReadAsync(db, spawns, ct).ConfigureAwait(false);
        var ready = worker.Ready!;
        return new LatencyRun(samples, warmUp, int.Parse(ready["max"], CultureInfo.InvariantCulture), int.Parse(ready["min"], CultureInfo.InvariantCulture),
            latency, cpu.TotalSeconds * 1e6 / samples, worker.Memory().RssMb);
    }

    private static async Task WaitForRunsAsync(List<WorkerProcess> workers, long target, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            long total = 0;
            foreach (var w in workers)
            {
                total += (await w.RunsAsync(ct).ConfigureAwait(false)).Noop;
            }

            if (total >= target)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The workers ran {total} of {target} jobs within {timeout.TotalSeconds:0} s; see {workers[0].LogPath}.");
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    private static async Task<DateTime> LastCompletionAsync(BenchDatabase db, CancellationToken ct)
    {
        await using var cmd = db.DataSource.CreateCommand("SELECT max(finished_at) FROM jobs WHERE job_type = @t AND terminal_state = 'completed'");
        cmd.Parameters.AddWithValue("t", WorkerJobTypes.Noop);
        return (DateTime)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    private static void Report(BenchContext context, WorkloadResult result, string load, List<ShapeRun> runs, LatencyRun? latency, LatencyRun? fresh)
    {
        var o = context.Options;
        foreach (var r in runs)
        {
            var key = $"w{r.Shape.Workers}_{r.Shape.Max}_{r.Shape.Min}";
            var label = $"{r.Jobs:N0} jobs, {r.Shape.Workers} worker process(es) at {r.Shape.Max}/{r.Shape.Min}";
            result.Metric(key + "_per_s", $"{label}: processed (first start → last completion)", r.JobsPerSecond, "jobs/s")
                  .Metric(key + "_cpu_us_per_job", $"{label}: worker CPU per job (all workers' CPU over their whole life ÷ N)", r.WorkerCpuMicrosPerJob, "µs")
                  .Metric(key + "_rss_mb", $"{label}: worker RSS at the end (largest worker)", r.Workers.Max(w => w.RssMb), "MB");
            result.Note($"{label}: spawned in {r.Jobs / r.SpawnRate:0.00} s ({r.SpawnRate:N0} jobs/s, SpawnAllAsync × {o.SpawnBatch}) before any worker started; " +
                        $"first launch → first start {r.LaunchToFirstStartSeconds:0.00} s; first start → last completion {r.WindowSeconds:0.00} s = {r.JobsPerSecond:N0} jobs/s. " +
                        $"Launch → drained: PostgreSQL {r.PostgresCores:0.00} cores, this (spawning) process {r.BenchCores:0.00} cores over {r.WallSeconds:0.00} s.");
            foreach (var w in r.Workers)
            {
                result.Note($"  worker pid {w.Pid}: ran {w.Runs:N0} jobs; READY after {w.ReadySeconds:0.00} s (CPU {w.CpuAtReadySeconds:0.00} s, {w.JitMethodsAtReady:N0} methods JIT-compiled, {w.RunsAtReady:N0} runs by then); " +
                            $"CPU {w.CpuSeconds:0.00} s in all = {w.CpuMicrosPerJob:N0} µs/job ({w.CpuMicrosPerJobAfterReady:N0} µs/job after READY); " +
                            $"RSS {w.RssMb:0.0} MB at the end, peak {w.PeakRssMb:0.0} MB; {w.Activations:N0} grain activations, {w.ActiveTimers:N0} active timers; " +
                            $"SIGTERM → exit {w.StopSeconds:0.00} s{(w.StoppedGracefully ? "" : " (NOT graceful)")}.");
            }
        }

        if (latency is { } l)
        {
            var lw = l.Latency.WorkerClock;
            var phase = fresh is null ? "" : $", steady: after {l.WarmUp + fresh.WarmUp + fresh.Samples} calls";
            result.Metric("latency_p50_ms", $"spawn→start p50 (1 idle worker at {l.Max}/{l.Min}{phase})", lw.P50, "ms")
                  .Metric("latency_p95_ms", "spawn→start p95", lw.P95, "ms")
                  .Metric("latency_p99_ms", "spawn→start p99", lw.P99, "ms")
                  .Metric("latency_max_ms", "spawn→start max", lw.Max, "ms")
                  .Metric("latency_spawn_call_p50_ms", "SpawnAsync call p50 (spawning process, no silo)", l.Latency.SpawnCall.P50, "ms")
                  .Note($"Latency: {l.Samples} single SpawnAsync calls 10 ms apart from this process (no silo here) after {l.WarmUp} unmeasured ones, " +
                        $"one worker process at {l.Max}/{l.Min}, idle otherwise. spawn→start = the run's UTC wall clock (DateTime.UtcNow, first thing in RunAsync, " +
                        $"in the worker) − the UTC wall clock read just before SpawnAsync (here): one machine, one clock. min {lw.Min:0.00}, mean {lw.Mean:0.00} ms. " +
                        $"Cross-check on the database's clock (clock_timestamp() when the start row was written): p50 {l.Latency.DbClock.P50:0.00} ms, " +
                        $"p99 {l.Latency.DbClock.P99:0.00} ms; the row landed {l.Latency.RowWriteLag.P50:0.00} ms (p50) after the run's own reading. " +
                        $"SpawnAsync call p50 {l.Latency.SpawnCall.P50:0.00} ms, p99 {l.Latency.SpawnCall.P99:0.00} ms. " +
                        $"Worker CPU from the first measured spawn until drained, divided by the {l.Samples} jobs (idle time included; each job writes its start row): " +
                        $"{l.WorkerCpuMicrosPerJob:N0} µs per job; RSS {l.WorkerRssMb:0.0} MB." +
                        (o.Quick ? " (Smoke run: measured on the throughput worker after it drained.)" : ""));
        }

        if (fresh is { } f)
        {
            var fw = f.Latency.WorkerClock;
            result.Metric("latency_fresh_p50_ms", $"spawn→start p50, fresh: the {f.Samples} calls after the first {f.WarmUp}", fw.P50, "ms")
                  .Metric("latency_fresh_p99_ms", "spawn→start p99, fresh", fw.P99, "ms")
                  .Note($"Fresh phase (the first seconds of the worker and the spawning client, before the steady phase above, on the same two): " +
                        $"{f.Samples} calls after {f.WarmUp} unmeasured ones: spawn→start p50 {fw.P50:0.00}, p95 {fw.P95:0.00}, p99 {fw.P99:0.00}, max {fw.Max:0.00} ms; " +
                        $"SpawnAsync call p50 {f.Latency.SpawnCall.P50:0.00}, p99 {f.Latency.SpawnCall.P99:0.00} ms.");
        }

        result.Data("load_at_start", load)
              .Data("jobs", o.DeployedJobs)
              .Data("runs", runs.Select(r => r.Json()).ToList())
              .Data("latency", latency?.Json())
              .Data("latency_fresh", fresh?.Json());
    }

    private sealed record ShapeRun(
        DeployedShape Shape, int Jobs, double SpawnRate, double WindowSeconds, double JobsPerSecond, double LaunchToFirstStartSeconds,
        double PostgresCores, double BenchCores, double WallSeconds, List<WorkerRun> Workers)
    {
        /// <summary>Every worker's CPU time (whole process life, until drained) over the jobs.</summary>
        public double WorkerCpuMicrosPerJob => Workers.Sum(w => w.CpuSeconds) * 1e6 / Jobs;

        public object Json() => new
        {
            workers = Shape.Workers,
            max_jobs = Shape.Max,
            min_jobs = Shape.Min,
            jobs = Jobs,
            spawn_per_s = Math.Round(SpawnRate),
            processed_per_s = Math.Round(JobsPerSecond),
            first_start_to_last_completion_s = Math.Round(WindowSeconds, 3),
            launch_to_first_start_s = Math.Round(LaunchToFirstStartSeconds, 3),
            postgres_cores = Math.Round(PostgresCores, 2),
            spawning_process_cores = Math.Round(BenchCores, 2),
            launch_to_drained_s = Math.Round(WallSeconds, 2),
            worker_cpu_us_per_job = Math.Round(WorkerCpuMicrosPerJob, 1),
            worker = Workers.Select(w => w.Json()).ToList(),
        };
    }

    private sealed record WorkerRun(
        int Pid, long Runs, double ReadySeconds, double CpuAtReadySeconds, long RunsAtReady, double CpuSeconds, double RssMb, double PeakRssMb,
        long Activations, long ActiveTimers, long JitMethodsAtReady, double StopSeconds = 0, bool StoppedGracefully = false)
    {
        public double CpuMicrosPerJob => Runs > 0 ? CpuSeconds * 1e6 / Runs : 0;

        public double CpuMicrosPerJobAfterReady => Runs > RunsAtReady ? (CpuSeconds - CpuAtReadySeconds) * 1e6 / (Runs - RunsAtReady) : 0;

        public static WorkerRun Of(WorkerProcess w, WorkerStats stats, TimeSpan cpu, (double RssMb, double PeakRssMb) memory)
        {
            var ready = w.Ready!;
            return new WorkerRun(w.Pid, stats.NoopRuns, w.ReadySeconds,
                double.Parse(ready["cpu_s"], CultureInfo.InvariantCulture), long.Parse(ready["runs"], CultureInfo.InvariantCulture),
                cpu.TotalSeconds, memory.RssMb, memory.PeakRssMb, stats.Activations, stats.ActiveTimers,
                long.Parse(ready["jit_methods"], CultureInfo.InvariantCulture));
        }

        public object Json() => new
        {
            pid = Pid,
            runs = Runs,
            ready_s = Math.Round(ReadySeconds, 2),
            cpu_at_ready_s = Math.Round(CpuAtReadySeconds, 2),
            runs_at_ready = RunsAtReady,
            jit_methods_at_ready = JitMethodsAtReady,
            cpu_s = Math.Round(CpuSeconds, 2),
            cpu_us_per_job = Math.Round(CpuMicrosPerJob, 1),
            cpu_us_per_job_after_ready = Math.Round(CpuMicrosPerJobAfterReady, 1),
            rss_mb = Math.Round(RssMb, 1),
            peak_rss_mb = Math.Round(PeakRssMb, 1),
            activations = Activations,
            active_timers = ActiveTimers,
            stop_s = Math.Round(StopSeconds, 2),
            graceful = StoppedGracefully,
        };
    }

    private sealed record LatencyRun(int Samples, int WarmUp, int Max, int Min, StartRecords.Latency Latency, double WorkerCpuMicrosPerJob, double WorkerRssMb)
    {
        public object Json() => new
        {
            samples = Samples,
            warm_up = WarmUp,
            max_jobs = Max,
            min_jobs = Min,
            clock = "worker UTC wall clock at run start − spawner UTC wall clock before SpawnAsync (one machine)",
            spawn_to_start = StartRecords.Json(Latency.WorkerClock),
            spawn_to_start_db_clock = StartRecords.Json(Latency.DbClock),
            spawn_call = StartRecords.Json(Latency.SpawnCall),
            worker_cpu_us_per_job = Math.Round(WorkerCpuMicrosPerJob, 1),
            worker_rss_mb = Math.Round(WorkerRssMb, 1),
        };
    }
}
