using System.Diagnostics;
using Job.Bench.Infrastructure;
using Job.Bench.Reporting;
using Job.BenchWorker;

namespace Job.Bench.Workloads;

/// <summary>
/// Thousands of tenants: many serial queues and many job types, on a PostgreSQL server of this
/// workload's own (started with pg_stat_statements preloaded, so every process's statements are
/// timed on the server; the other workloads' server stays without it).
/// <para>Setup: one database; <c>TenantQueues</c> serial queues holding one job each, due in a day, of the
/// types <c>tenant-{q mod TenantTypes}</c>, inserted by direct SQL writing what job_spawn writes (jobs,
/// job_executions, the two first events); then VACUUM ANALYZE and CHECKPOINT.</para>
/// <para>Each phase starts one worker process at the defaults (50/30): the baseline registers only the
/// bench's two types, the tenants phase also <c>TenantTypes</c> generated types. Startup is timed
/// until the worker is ready (no type has a grain, reminder or timer to wait for). After
/// <c>TenantSettleSeconds</c> more (past the leader's first maintenance ticks):
/// (b) idle for <c>TenantIdleSeconds</c>: the worker's CPU (/proc), PostgreSQL's CPU, the server's
/// statements, then the worker's grain activations (Orleans' management grain), active timers
/// (Timer.ActiveCount), RSS; reminder rows from orleans_reminders; and EXPLAIN ANALYZE of the
/// claim with the worker's own parameters (rolled back);
/// (a) <c>TenantSamples</c> single SpawnAsync calls of the record-start type 10 ms apart from this
/// process: spawn → start p50/p95 and the claim statement's server time (pg_stat_statements).</para>
/// </summary>
public sealed class TenantsWorkload : IWorkload
{
    private const int WarmUp = 5;
    private const string ServiceId = "job-bench"; // the worker's default
    private static readonly TimeSpan s_readyTimeout = TimeSpan.FromSeconds(180);

    public string Name => "tenants";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var load = ResourceSampler.LoadAverage();
        Console.WriteLine($"  load average at start {load}; starting a PostgreSQL server with pg_stat_statements for this workload; worker logs in {context.WorkerLogDirectory}");
        await using var pg = await BenchPostgres.StartAsync(ct, ServerStatements.ServerSettings).ConfigureAwait(false);
        var sampler = new ResourceSampler(pg.Server.DataDirectory);
        await using var db = await pg.CreateDatabaseAsync("tenants", ct).ConfigureAwait(false);
        await ServerStatements.EnableAsync(db, ct).ConfigureAwait(false);
        await StartRecords.CreateTableAsync(db, ct).ConfigureAwait(false);

        var insert = Stopwatch.StartNew();
        await InsertQueuesAsync(db, o.TenantQueues, o.TenantTypes, ct).ConfigureAwait(false);
        var insertSeconds = insert.Elapsed.TotalSeconds;
        await db.VacuumAnalyzeAsync(ct).ConfigureAwait(false);
        await db.ExecuteAsync("VACUUM ANALYZE job_events", ct, 600).ConfigureAwait(false);
        await db.ExecuteAsync("CHECKPOINT", ct, 600).ConfigureAwait(false);
        Console.WriteLine($"  {o.TenantQueues:N0} serial queues of {o.TenantTypes:N0} types inserted in {insertSeconds:0.0} s");

        await using var app = new AppSpawner(db.ConnectionString);
        var phases = new List<Phase>();
        var spawned = 0;
        if (o.TenantBaseline)
        {
            phases.Add(await PhaseAsync(context, sampler, db, app, "baseline", 0, spawned, ct).ConfigureAwait(false));
            spawned += WarmUp + o.TenantSamples;
        }

        phases.Add(await PhaseAsync(context, sampler, db, app, "tenants", o.TenantTypes, spawned, ct).ConfigureAwait(false));
        Report(context, result, load, insertSeconds, phases);
    }

    private static async Task<Phase> PhaseAsync(
        BenchContext context, ResourceSampler sampler, BenchDatabase db, AppSpawner app, string label, int tenantTypes, int spawnedBefore, CancellationToken ct)
    {
        var o = context.Options;
        var defaults = new JobPollerConfig();
        var types = new[] { WorkerJobTypes.Noop, WorkerJobTypes.RecordStart }
            .Concat(Enumerable.Range(0, tenantTypes).Select(WorkerJobTypes.Tenant))
            .Order(StringComparer.Ordinal)
            .ToArray();
        Console.WriteLine($"  {label}: starting a worker with {types.Length:N0} registered types…");
        await using var worker = WorkerProcess.Start(
            new WorkerProcess.Launch(db.ConnectionString, db.Name, defaults.MaxJobsPerProcess, defaults.MinJobsPerProcess, tenantTypes, $"tenants-{label}"),
            context.WorkerLogDirectory);
        await worker.WaitReadyAsync(s_readyTimeout, ct).ConfigureAwait(false);

        // Startup ends when the worker is ready: no type costs it a grain, reminder or timer (what it holds is
        // counted below), so there is nothing per type to wait for.
        var startupSeconds = Stopwatch.GetElapsedTime(worker.LaunchedTimestamp).TotalSeconds;
        var startupCpu = worker.Cpu().TotalSeconds;
        Console.WriteLine($"  {label}: READY after {worker.ReadySeconds:0.0} s (worker CPU {startupCpu:0.0} s)");
        // Past the leader's first maintenance ticks (TenantSettleSeconds).
        await Task.Delay(TimeSpan.FromSeconds(o.TenantSettleSeconds), ct).ConfigureAwait(false);

        // (b) idle.
        await ServerStatements.ResetAsync(db, ct).ConfigureAwait(false);
        var cpu0 = worker.Cpu();
        var pg0 = sampler.Take();
        await Task.Delay(TimeSpan.FromSeconds(o.TenantIdleSeconds), ct).ConfigureAwait(false);
        var cpu1 = worker.Cpu();
        var pg1 = sampler.Take();
        var idleStatements = await ServerStatements.ReadAsync(db, ct).ConfigureAwait(false);
        var memory = worker.Memory();
        var stats = await worker.StatsAsync(ct).ConfigureAwait(false);
        var reminders = await RemindersAsync(db, ct).ConfigureAwait(false);
        var idleUsage = ResourceSampler.Between(pg0, pg1);
        var idle = new Idle(idleUsage.WallSeconds, (cpu1 - cpu0).TotalSeconds, idleUsage.PostgresCores, stats, reminders, memory.RssMb, memory.PeakRssMb, idleStatements);
        // The claim as the dispatcher sends it: only the types with due jobs (here the one being spawned), never
        // every registered type.
        string[] asked = [WorkerJobTypes.RecordStart];
        await ServerStatements.ExplainClaimAsync(db, asked, defaults.MaxJobsPerProcess, ct).ConfigureAwait(false); // warms the cache
        var plan = await ServerStatements.ExplainClaimAsync(db, asked, defaults.MaxJobsPerProcess, ct).ConfigureAwait(false);
        Console.WriteLine($"  {label}: idle {idle.WorkerCpuMsPerSecond:0.0} ms CPU/s in the worker, postgres {idle.PostgresCores:0.00} cores; " +
                          $"{stats.Activations:N0} activations, {reminders:N0} reminders, {stats.ActiveTimers:N0} timers, RSS {memory.RssMb:0} MB; claim EXPLAIN {plan.ExecutionMs:0.0} ms");

        // (a) spawn → start of a type with nothing else due, while the queues wait for tomorrow.
        var interval = TimeSpan.FromMilliseconds(10);
        var timeout = TimeSpan.FromSeconds(Math.Max(120, o.TenantSamples * 2));
        var warm = await app.SpawnRecordStartPacedAsync(WarmUp, interval, ct).ConfigureAwait(false);
        await StartRecords.WaitAsync(db, warm, timeout, ct).ConfigureAwait(false);
        await ServerStatements.ResetAsync(db, ct).ConfigureAwait(false);
        var pgA = sampler.Take();
        var cpuA = worker.Cpu();
        var spawns = await app.SpawnRecordStartPacedAsync(o.TenantSamples, interval, ct).ConfigureAwait(false);
        await StartRecords.WaitAsync(db, spawns, timeout, ct).ConfigureAwait(false);
        await db.WaitUntilDrainedAsync(WorkerJobTypes.RecordStart, timeout, ct, pollMilliseconds: 50).ConfigureAwait(false);
        var cpuB = worker.Cpu();
        var pgB = sampler.Take();
        var statements = await ServerStatements.ReadAsync(db, ct).ConfigureAwait(false);
        await db.VerifyCompletedAsync(WorkerJobTypes.RecordStart, spawnedBefore + WarmUp + o.TenantSamples, ct).ConfigureAwait(false);
        var latency = await StartRecords.ReadAsync(db, spawns, ct).ConfigureAwait(false);
        var spawnUsage = ResourceSampler.Between(pgA, pgB);
        var queued = await db.ScalarAsync("SELECT count(*) FROM job_executions WHERE queue_id IS NOT NULL AND state = 'scheduled'", ct).ConfigureAwait(false);
        if (queued != o.TenantQueues)
        {
            throw new BenchCheckException($"Expected the {o.TenantQueues:N0} queued jobs due tomorrow untouched; found {queued:N0} scheduled.");
        }

        var (stopSeconds, graceful) = await worker.StopAsync(TimeSpan.FromSeconds(120)).ConfigureAwait(false);
        Console.WriteLine($"  {label}: spawn→start p50 {latency.WorkerClock.P50:0.0} ms, p95 {latency.WorkerClock.P95:0.0} ms; " +
                          $"claim {Find(statements, "claim")?.MeanMs ?? 0:0.0} ms mean on the server; stopped in {stopSeconds:0.0} s");
        return new Phase(label, types.Length, worker.ReadySeconds, startupSeconds, startupCpu, idle, plan, latency, statements,
            spawnUsage.WallSeconds, (cpuB - cpuA).TotalSeconds, spawnUsage.PostgresCores, stopSeconds, graceful);
    }

    /// <summary>Writes what job_spawn writes for a job due in a day in its own serial queue: the job row,
    /// its queue row and the initialized / execution_scheduled events; 50,000 per statement.</summary>
    private static async Task InsertQueuesAsync(BenchDatabase db, int queues, int types, CancellationToken ct)
    {
        const int chunk = 50_000;
        for (var from = 1; from <= queues; from += chunk)
        {
            await using var cmd = db.DataSource.CreateCommand("""
                WITH input AS (
                    SELECT gen_random_uuid() AS id,
                           @prefix || ((g - 1) % @types)::text AS job_type,
                           'tenant-queue-' || g AS queue_id,
                           now() + interval '1 day' + g * interval '1 ms' AS execute_at
                    FROM generate_series(@from, @to) AS g
                ), inserted_jobs AS (
                    INSERT INTO jobs (id, job_type, unique_per_type, queue_id, config, trace_parent, created_at)
                    SELECT id, job_type, false, queue_id, '{}'::jsonb, NULL, now() FROM input
                ), inserted_events AS (
                    INSERT INTO job_events (job_id, event_type, attempt, scheduled_at, recorded_at)
                    SELECT input.id, e.event_type, e.attempt, CASE WHEN e.attempt IS NULL THEN NULL ELSE input.execute_at END, now()
                    FROM input CROSS JOIN (VALUES (1, 'initialized', NULL::int), (2, 'execution_scheduled', 1)) AS e (ord, event_type, attempt)
                    ORDER BY e.ord
                )
                INSERT INTO job_executions (id, job_type, queue_id, state, execute_at, created_at)
                SELECT id, job_type, queue_id, 'scheduled', execute_at, now() FROM input
                """);
            cmd.CommandTimeout = 600;
            cmd.Parameters.AddWithValue("prefix", WorkerJobTypes.TenantPrefix);
            cmd.Parameters.AddWithValue("types", types);
            cmd.Parameters.AddWithValue("from", from);
            cmd.Parameters.AddWithValue("to", Math.Min(queues, from + chunk - 1));
            await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
    }

    private static Task<long> RemindersAsync(BenchDatabase db, CancellationToken ct) =>
        db.ScalarAsync("SELECT count(*) FROM orleans_reminders WHERE service_id = @s", ct, ("s", ServiceId));

    private static ServerStatements.Stat? Find(IReadOnlyList<ServerStatements.Stat> statements, string name) =>
        statements.FirstOrDefault(s => s.Name == name);

    private static void Report(BenchContext context, WorkloadResult result, string load, double insertSeconds, List<Phase> phases)
    {
        var o = context.Options;
        foreach (var p in phases)
        {
            var key = p.Label;
            var what = p.Label == "baseline" ? $"baseline worker ({p.Types} types)" : $"worker with {p.Types:N0} types";
            var claim = Find(p.Statements, "claim");
            var idleClaim = Find(p.Idle.Statements, "claim");
            result.Metric(key + "_p50_ms", $"{what}: spawn→start p50", p.Latency.WorkerClock.P50, "ms")
                  .Metric(key + "_p95_ms", $"{what}: spawn→start p95", p.Latency.WorkerClock.P95, "ms")
                  .Metric(key + "_claim_mean_ms", $"{what}: claim, server time per call (pg_stat_statements, during the spawns)", claim?.MeanMs ?? 0, "ms")
                  .Metric(key + "_claim_explain_ms", $"{what}: claim, EXPLAIN ANALYZE execution (idle, its own parameters)", p.Plan.ExecutionMs, "ms")
                  .Metric(key + "_startup_s", $"{what}: launch → ready", p.StartupSeconds, "s")
                  .Count(key + "_activations", $"{what}: grain activations, idle", p.Idle.Stats.Activations)
                  .Count(key + "_reminders", $"{what}: reminder rows (orleans_reminders)", p.Idle.Reminders)
                  .Count(key + "_timers", $"{what}: active timers in the process (Timer.ActiveCount), idle", p.Idle.Stats.ActiveTimers)
                  .Metric(key + "_rss_mb", $"{what}: RSS, idle", p.Idle.RssMb, "MB")
                  .Metric(key + "_idle_cpu_ms_per_s", $"{what}: worker CPU, idle ({p.Idle.WallSeconds:0} s)", p.Idle.WorkerCpuMsPerSecond, "ms/s")
                  .Metric(key + "_idle_postgres_cores", $"{what}: PostgreSQL CPU while the worker idles", p.Idle.PostgresCores, "cores");
            result.Note($"{what}: READY {p.ReadySeconds:0.0} s after launch " +
                        $"(worker CPU by then {p.StartupCpuSeconds:0.0} s); SIGTERM → exit {p.StopSeconds:0.0} s{(p.StoppedGracefully ? "" : " (NOT graceful)")}.")
                  .Note($"{what}, idle {p.Idle.WallSeconds:0.0} s: worker CPU {p.Idle.WorkerCpuSeconds:0.00} s ({p.Idle.WorkerCpuMsPerSecond:0.0} ms/s), " +
                        $"PostgreSQL {p.Idle.PostgresCores:0.00} cores; RSS {p.Idle.RssMb:0.0} MB (peak {p.Idle.PeakRssMb:0.0}), GC heap {p.Idle.Stats.GcHeapMb:0.0} MB, " +
                        $"{p.Idle.Stats.Threads} threads; activations by grain type: {string.Join(", ", p.Idle.Stats.ActivationsByType.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:N0}"))}. " +
                        $"Claims while idle: {idleClaim?.Calls ?? 0:N0} ({(idleClaim?.Calls ?? 0) / Math.Max(0.001, p.Idle.WallSeconds):0.0}/s), " +
                        $"{idleClaim?.MeanMs ?? 0:0.0} ms each on the server. Server statements while idle: {Describe(p.Idle.Statements)}. " +
                        $"(Maintenance runs once per cluster, on the leader, whatever the number of types.)")
                  .Note($"{what}, {o.TenantSamples} spawns 10 ms apart (after {WarmUp} unmeasured): spawn→start p50 {p.Latency.WorkerClock.P50:0.0}, " +
                        $"p95 {p.Latency.WorkerClock.P95:0.0}, p99 {p.Latency.WorkerClock.P99:0.0}, max {p.Latency.WorkerClock.Max:0.0} ms " +
                        $"(worker UTC wall clock at the run's start − UTC wall clock before SpawnAsync; on the database's clock p50 {p.Latency.DbClock.P50:0.0} ms); " +
                        $"worker CPU {p.SpawnWorkerCpuSeconds:0.00} s, PostgreSQL {p.SpawnPostgresCores:0.00} cores over {p.SpawnWallSeconds:0.0} s. " +
                        $"Server statements: {Describe(p.Statements)}.")
                  .Note($"{what}: claim EXPLAIN ANALYZE (the types with due jobs, as the dispatcher asks, of its {p.Types:N0} registered; limit 50, rolled back): execution {p.Plan.ExecutionMs:0.0} ms, " +
                        $"planning {p.Plan.PlanningMs:0.0} ms; nodes with ≥ 10 % of the time: {string.Join(" | ", p.Plan.CostlyLines())}");
        }

        result.Note($"Setup: {o.TenantQueues:N0} serial queues with one job each due in a day, of {o.TenantTypes:N0} types tenant-0 … (direct SQL: jobs, " +
                    $"job_executions, initialized + execution_scheduled events, as job_spawn writes them), inserted in {insertSeconds:0.0} s, then VACUUM ANALYZE and CHECKPOINT. " +
                    "Workers at the defaults (50/30); the measured type is bench.start (records its start), spawned from this process, which has no silo. " +
                    $"Each phase: startup (until every type's reminder row exists), {o.TenantSettleSeconds} s settle, {o.TenantIdleSeconds} s idle (b), EXPLAIN, then the spawns (a).");
        result.Data("load_at_start", load)
              .Data("queues", o.TenantQueues)
              .Data("tenant_types", o.TenantTypes)
              .Data("samples", o.TenantSamples)
              .Data("phases", phases.Select(p => p.Json()).ToList());
    }

    private static string Describe(IReadOnlyList<ServerStatements.Stat> statements) =>
        string.Join("; ", statements.Where(s => !s.Name.StartsWith("bench", StringComparison.Ordinal)).Take(8).Select(s => $"{s.Name} {s.Calls:N0} calls, {s.MeanMs:0.00} ms mean, {s.MaxMs:0.0} ms max, {s.TotalMs / 1000:0.00} s total"));

    private sealed record Idle(
        double WallSeconds, double WorkerCpuSeconds, double PostgresCores, WorkerStats Stats, long Reminders, double RssMb, double PeakRssMb,
        IReadOnlyList<ServerStatements.Stat> Statements)
    {
        public double WorkerCpuMsPerSecond => WallSeconds > 0 ? WorkerCpuSeconds * 1000 / WallSeconds : 0;
    }

    private sealed record Phase(
        string Label, int Types, double ReadySeconds, double StartupSeconds, double StartupCpuSeconds, Idle Idle, ServerStatements.Plan Plan,
        StartRecords.Latency Latency, IReadOnlyList<ServerStatements.Stat> Statements, double SpawnWallSeconds, double SpawnWorkerCpuSeconds,
        double SpawnPostgresCores, double StopSeconds, bool StoppedGracefully)
    {
        public object Json() => new
        {
            phase = Label,
            registered_types = Types,
            ready_s = Math.Round(ReadySeconds, 2),
            every_reminder_s = Math.Round(StartupSeconds, 2),
            startup_cpu_s = Math.Round(StartupCpuSeconds, 2),
            idle = new
            {
                wall_s = Math.Round(Idle.WallSeconds, 2),
                worker_cpu_ms_per_s = Math.Round(Idle.WorkerCpuMsPerSecond, 2),
                postgres_cores = Math.Round(Idle.PostgresCores, 3),
                activations = Idle.Stats.Activations,
                activations_by_type = Idle.Stats.ActivationsByType,
                reminders = Idle.Reminders,
                active_timers = Idle.Stats.ActiveTimers,
                threads = Idle.Stats.Threads,
                gc_heap_mb = Idle.Stats.GcHeapMb,
                rss_mb = Math.Round(Idle.RssMb, 1),
                peak_rss_mb = Math.Round(Idle.PeakRssMb, 1),
                statements = Idle.Statements.ToDictionary(s => s.Name, s => s.Json()),
            },
            claim_explain = new { execution_ms = Plan.ExecutionMs, planning_ms = Plan.PlanningMs },
            spawn_to_start = StartRecords.Json(Latency.WorkerClock),
            spawn_to_start_db_clock = StartRecords.Json(Latency.DbClock),
            spawn_call = StartRecords.Json(Latency.SpawnCall),
            spawn_phase = new
            {
                wall_s = Math.Round(SpawnWallSeconds, 2),
                worker_cpu_s = Math.Round(SpawnWorkerCpuSeconds, 2),
                postgres_cores = Math.Round(SpawnPostgresCores, 3),
                statements = Statements.ToDictionary(s => s.Name, s => s.Json()),
            },
            stop_s = Math.Round(StopSeconds, 2),
            graceful = StoppedGracefully,
        };
    }
}
