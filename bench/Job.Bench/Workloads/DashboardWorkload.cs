using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Job.Bench.Infrastructure;
using Job.Bench.Reporting;
using Job.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Job.Bench.Workloads;

/// <summary>
/// The dashboard on big tables (issue 12.4). Part 1: 1,000,000 finished and 100,000 pending jobs
/// (inserted by SQL, vacuumed), every page asked repeatedly; the server time each answer reports
/// (Server-Timing) must stay ≤ 200 ms. Part 2: the throughput run with and without an open,
/// auto-refreshing overview (a dashboard in the silo's process, its counter, and a client asking for
/// the live part at the page's refresh interval), in rotating rounds with a third variant without the 0008 indexes (what they cost each job); the
/// overview's cost must stay ≤ 5 %, measured as CPU per job (bench process + PostgreSQL), which a busy
/// shared machine disturbs less than wall-clock throughput.
/// </summary>
public sealed partial class DashboardWorkload : IWorkload
{
    public string Name => "dashboard";

    public async Task RunAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        if (!context.Options.DashboardNoPages)
        {
            await PagesAsync(context, result, ct).ConfigureAwait(false);
        }

        await OverheadAsync(context, result, ct).ConfigureAwait(false);
    }

    private static async Task PagesAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var finished = o.Quick ? 20_000 : o.DashboardFinished;
        var pending = o.Quick ? 2_000 : o.DashboardPending;
        var db = await context.Postgres.CreateDatabaseAsync("dashboard", ct).ConfigureAwait(false);
        await JobMigrations.RunAsync(db.DataSource, ct).ConfigureAwait(false);
        var fill = Stopwatch.StartNew();
        await db.ExecuteAsync($$"""
            INSERT INTO job.jobs (id, job_type, queue_id, config, terminal_state, last_error, created_at, finished_at)
            SELECT gen_random_uuid(), 'bench.type-' || (g % 8), CASE WHEN g % 10 = 0 THEN 'tenant-' || (g % 100) END, '{"n": 1, "tenant": "acme"}',
                   CASE WHEN g % 50 = 0 THEN 'errored' WHEN g % 97 = 0 THEN 'cancelled' ELSE 'completed' END,
                   CASE WHEN g % 50 = 0 THEN 'System.InvalidOperationException: bench failure ' || g END,
                   now() - interval '3 days' + g * interval '200 ms', now() - interval '3 days' + g * interval '200 ms' + interval '2 s'
            FROM generate_series(1, {{finished}}) g;
            INSERT INTO job.jobs (id, job_type, config, created_at)
            SELECT gen_random_uuid(), 'bench.type-' || (g % 8), '{"n": 2}', now() - interval '1 hour' + g * interval '10 ms' FROM generate_series(1, {{pending}}) g;
            INSERT INTO job.job_executions (id, job_type, state, execute_at, created_at)
            SELECT id, job_type, 'pending', created_at, created_at FROM job.jobs WHERE terminal_state IS NULL;
            INSERT INTO job.job_events (job_id, event_type, attempt, error_message, error_type, recorded_at)
            SELECT id, e.t, 1, CASE WHEN e.t = 'execution_errored' THEN last_error END, CASE WHEN e.t = 'execution_errored' THEN 'System.InvalidOperationException' END, created_at
            FROM job.jobs CROSS JOIN (VALUES ('initialized'), ('execution_scheduled'), ('execution_errored'), ('job_errored')) AS e (t)
            WHERE terminal_state = 'errored';
            """, ct, timeoutSeconds: 3600).ConfigureAwait(false);
        await db.VacuumAnalyzeAsync(ct).ConfigureAwait(false);
        Console.WriteLine($"  dashboard: {finished:N0} finished + {pending:N0} pending jobs inserted and vacuumed in {fill.Elapsed.TotalSeconds:0} s");

        await using var app = await StartDashboardAsync(db.ConnectionString, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var baseUrl = app.Urls.Single() + "/jobs";
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
        var cold = await TimeAsync(http, baseUrl + "/", ct).ConfigureAwait(false);
        var errored = await FirstIdAsync(db, "errored", ct).ConfigureAwait(false);
        var firstPage = await http.GetStringAsync(baseUrl + "/jobs?state=completed", ct).ConfigureAwait(false);
        var next = NextLink().Match(firstPage) is { Success: true } m ? System.Net.WebUtility.HtmlDecode(m.Groups[1].Value) : null;
        var pages = new (string Name, string Path)[]
        {
            ("overview", "/"),
            ("overview (live part, each refresh)", "/overview/live"),
            ("jobs: every state, newest", "/jobs"),
            ("jobs: completed, newest", "/jobs?state=completed"),
            ("jobs: completed, next page", next is null ? "/jobs?state=completed" : next[(next.IndexOf("/jobs?", StringComparison.Ordinal))..]),
            ("jobs: errored of one type", "/jobs?state=errored&type=bench.type-3"),
            ("jobs: cancelled, oldest first", "/jobs?state=cancelled&dir=asc"),
            ("jobs: pending, due first", "/jobs?state=pending&dir=asc"),
            ("jobs: pending of one type", "/jobs?state=pending&type=bench.type-5"),
            ("jobs: one queue", "/jobs?queue=tenant-40"),
            ("jobs: id prefix", $"/jobs?id={errored.ToString()[..8]}"),
            ("jobs: finished in a time range", $"/jobs?state=completed&from={DateTime.UtcNow.AddDays(-2):yyyy-MM-ddTHH:mm}&to={DateTime.UtcNow.AddDays(-1):yyyy-MM-ddTHH:mm}"),
            ("job (errored, with history)", $"/jobs/{errored}"),
            ("types", "/types"),
            ("silos", "/silos"),
        };
        var rounds = o.Quick ? 3 : 20;
        var worst = 0.0;
        var rows = new List<object>();
        foreach (var (name, path) in pages)
        {
            _ = await TimeAsync(http, baseUrl + path, ct).ConfigureAwait(false); // warm: plans, pools
            var server = new List<double>();
            var wall = new List<double>();
            for (var i = 0; i < rounds; i++)
            {
                var (s, w) = await TimeAsync(http, baseUrl + path, ct).ConfigureAwait(false);
                server.Add(s);
                wall.Add(w);
            }

            var stats0 = Percentiles.Of(server);
            var p50 = stats0.P50;
            var p95 = stats0.P95;
            worst = Math.Max(worst, server.Max());
            Console.WriteLine($"  page {name}: server p50 {p50:0.0} ms, p95 {p95:0.0} ms, max {server.Max():0.0} ms; client p50 {Percentiles.Of(wall).P50:0.0} ms");
            result.Note($"{name} (`{path.Split('?')[0]}`): server time p50 {p50:0.0} ms, p95 {p95:0.0} ms, max {server.Max():0.0} ms over {rounds} requests.");
            rows.Add(new { page = name, path, p50_ms = Math.Round(p50, 1), p95_ms = Math.Round(p95, 1), max_ms = Math.Round(server.Max(), 1) });
        }

        var stats = app.Services.GetRequiredService<DashboardStats>();
        var snapshot = await stats.GetAsync(ct).ConfigureAwait(false);
        result.Metric("page_max_ms", $"slowest page answer ({finished:N0} finished + {pending:N0} pending, server time)", worst, "ms", "≤ 200 ms")
              .Metric("first_overview_ms", "first overview after idle (waits for a full count)", cold.Server, "ms")
              .Metric("count_ms", "one background count (live scan + finished increment)", snapshot.TakenIn.TotalMilliseconds, "ms")
              .Data("pages", rows)
              .Data("finished", finished)
              .Data("pending", pending);
        await app.StopAsync(ct).ConfigureAwait(false);
        await DropAsync(context, db, ct).ConfigureAwait(false);
    }

    /// <summary>Drops a database of this workload, so its million rows cost the next runs nothing (autovacuum, checkpoints).</summary>
    private static async Task DropAsync(BenchContext context, BenchDatabase db, CancellationToken ct)
    {
        _ = context;
        await DropCoreAsync(db, ct).ConfigureAwait(false);
    }

    private static async Task DropCoreAsync(BenchDatabase db, CancellationToken ct)
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        await db.DataSource.DisposeAsync().ConfigureAwait(false);
        var admin = new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;
        await using var connection = new Npgsql.NpgsqlConnection(admin);
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var drop = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS \"{db.Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private static async Task OverheadAsync(BenchContext context, WorkloadResult result, CancellationToken ct)
    {
        var o = context.Options;
        var jobs = o.Quick ? 2_000 : o.DashboardOverheadJobs;
        var pairs = o.Quick ? 1 : 3;
        var refresh = TimeSpan.FromSeconds(o.Quick ? 1 : 5);
        var without = new List<(double Rate, double CpuMs)>();
        var with = new List<(double Rate, double CpuMs)>();
        var bare = new List<(double Rate, double CpuMs)>();
        for (var round = 0; round < pairs; round++)
        {
            // Rotate the order, so a drift of the shared machine's load hits every variant alike.
            var variants = new[] { "none", "open", "bare" };
            foreach (var variant in variants.Skip(round % 3).Concat(variants.Take(round % 3)))
            {
                var run = await ThroughputAsync(context, jobs, variant == "open" ? refresh : null, dropIndexes: variant == "bare", ct).ConfigureAwait(false);
                (variant switch { "open" => with, "none" => without, _ => bare }).Add(run);
                var label = variant switch { "open" => "overview open       ", "none" => "no dashboard        ", _ => "no 0008 indexes     " };
                Console.WriteLine($"  dashboard overhead: {label} {run.Rate:N0} jobs/s, {run.CpuMs * 1000:0.0} µs CPU per job (bench process + PostgreSQL) (load {ResourceSampler.LoadAverage()})");
            }
        }

        var bareCpu = bare.Min(r => r.CpuMs);
        result.Metric("index_cpu_pct", "CPU per job of the cockpit's indexes (migration 0008) against the same run without them (best runs)", (without.Min(r => r.CpuMs) - bareCpu) / bareCpu * 100, "%")
              .Metric("throughput_bare", "throughput without the 0008 indexes (best)", bare.Max(r => r.Rate), "jobs/s")
              .Data("bare", bare.Select(r => new { jobs_per_s = Math.Round(r.Rate), cpu_us_per_job = Math.Round(r.CpuMs * 1000, 1) }).ToList());

        var baseRate = without.Max(r => r.Rate);
        var openRate = with.Max(r => r.Rate);
        var baseCpu = without.Min(r => r.CpuMs);
        var openCpu = with.Min(r => r.CpuMs);
        result.Metric("overhead_cpu_pct", $"CPU per job with an open overview refreshing every {refresh.TotalSeconds:0} s (best of {pairs} rounds of {jobs:N0} jobs)", (openCpu - baseCpu) / baseCpu * 100, "%", "≤ 5 %")
              .Metric("overhead_pct", "throughput cost of the open overview (best run of each side)", (baseRate - openRate) / baseRate * 100, "%", "≤ 5 %")
              .Metric("throughput_without", "throughput, no dashboard (best)", baseRate, "jobs/s")
              .Metric("throughput_with", "throughput, overview open (best)", openRate, "jobs/s")
              .Data("without", without.Select(r => new { jobs_per_s = Math.Round(r.Rate), cpu_us_per_job = Math.Round(r.CpuMs * 1000, 1) }).ToList())
              .Data("with", with.Select(r => new { jobs_per_s = Math.Round(r.Rate), cpu_us_per_job = Math.Round(r.CpuMs * 1000, 1) }).ToList());
    }

    private static async Task<(double Rate, double CpuMs)> ThroughputAsync(BenchContext context, int jobs, TimeSpan? refresh, bool dropIndexes, CancellationToken ct)
    {
        var probe = new RunProbe();
        var db = await context.Postgres.CreateDatabaseAsync("dash_overhead", ct).ConfigureAwait(false);
        double seconds;
        ResourceSampler.Usage usage;
        var cluster = await SiloCluster.StartAsync(db, 1, context.Options.DefaultPoller, probe, ct).ConfigureAwait(false);
        try
        {
            if (dropIndexes)
            {
                await db.ExecuteAsync("DROP INDEX job.jobs_finished_by_state, job.jobs_finished_by_type, job.jobs_type_id, job.jobs_queue_id", ct).ConfigureAwait(false);
            }

            await cluster.SpawnBulkAsync(jobs, context.Options.SpawnBatch, null, ct).ConfigureAwait(false);
            await using var app = refresh is { } r ? await StartDashboardAsync(db.ConnectionString, r).ConfigureAwait(false) : null;
            using var viewing = new CancellationTokenSource();
            var viewer = Task.CompletedTask;
            if (app is not null)
            {
                var live = app.Urls.Single() + "/jobs/overview/live";
                using var http0 = new HttpClient();
                _ = await http0.GetStringAsync(app.Urls.Single() + "/jobs/", ct).ConfigureAwait(false);
                viewer = Task.Run(async () =>
                {
                    using var http = new HttpClient();
                    while (!viewing.IsCancellationRequested)
                    {
                        try
                        {
                            _ = await http.GetStringAsync(live, viewing.Token).ConfigureAwait(false);
                            await Task.Delay(refresh!.Value, viewing.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            return;
                        }
                    }
                }, CancellationToken.None);
            }

            var timeout = BenchContext.TimeoutFor(jobs);
            var started = Stopwatch.GetTimestamp();
            var before = context.Sampler.Take();
            await cluster.StartPollingAsync(ct).ConfigureAwait(false);
            await probe.WaitForAsync(jobs, timeout, ct).ConfigureAwait(false);
            await db.WaitUntilDrainedAsync(BenchInitializer.DefaultType, timeout, ct, 2).ConfigureAwait(false);
            seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            usage = ResourceSampler.Between(before, context.Sampler.Take());
            await viewing.CancelAsync().ConfigureAwait(false);
            await viewer.ConfigureAwait(false);
            await db.VerifyCompletedAsync(BenchInitializer.DefaultType, jobs, ct).ConfigureAwait(false);
            if (app is not null)
            {
                await app.StopAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
        }

        await DropAsync(context, db, ct).ConfigureAwait(false);
        return (jobs / seconds, (usage.ProcessCpuSeconds + usage.PostgresCpuSeconds) * 1000 / jobs);
    }

    private static async Task<WebApplication> StartDashboardAsync(string connectionString, TimeSpan refresh)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddJobClient(o => o.ConnectionString = connectionString);
        builder.Services.AddJobDashboard(o =>
        {
            o.RefreshInterval = refresh;
            o.AllowActions = true;
        });
        var app = builder.Build();
        app.MapJobDashboard("/jobs");
        await app.StartAsync().ConfigureAwait(false);
        return app;
    }

    private static async Task<(double Server, double Wall)> TimeAsync(HttpClient http, string url, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await http.GetAsync(url, ct).ConfigureAwait(false);
        _ = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        var wall = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (!response.IsSuccessStatusCode)
        {
            throw new BenchCheckException($"GET {url} answered {(int)response.StatusCode}.");
        }

        var timing = response.Headers.TryGetValues("Server-Timing", out var values) ? values.First() : "";
        var server = ServerTime().Match(timing) is { Success: true } m ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : wall;
        return (server, wall);
    }

    private static async Task<Guid> FirstIdAsync(BenchDatabase db, string state, CancellationToken ct)
    {
        await using var cmd = db.DataSource.CreateCommand($"SELECT id FROM job.jobs WHERE terminal_state = '{state}' LIMIT 1");
        return (Guid)(await cmd.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
    }

    [GeneratedRegex(@"dur=([0-9.]+)")]
    private static partial Regex ServerTime();

    [GeneratedRegex("rel=\"next\" href=\"([^\"]+)\"")]
    private static partial Regex NextLink();
}
