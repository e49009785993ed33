using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Job;
using Job.BenchWorker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

// A worker silo as users deploy one: a Generic Host with an Orleans silo that runs the job types,
// in its own process, next to an application that spawns. It registers the bench's no-op type, the
// "record start" type and optionally N generated tenant types; it polls from the moment the silo is
// up; it prints READY, answers RUNS and STATS on stdin, and stops gracefully on SIGTERM, Ctrl-C or STOP.
// With --silo-only true it is the same process without Job (SiloOnly): no job type, nothing to run.
var started = Stopwatch.StartNew();
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(WorkerSettings.Usage);
    return 0;
}

WorkerSettings settings;
try
{
    settings = WorkerSettings.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync(ex.Message + Environment.NewLine + WorkerSettings.Usage).ConfigureAwait(false);
    return 2;
}

try
{
    // Both modes: it checks the database before the host starts, and the floor costs what the worker's start costs besides Job.
    await StartsTable.EnsureAsync(settings.ConnectionString, CancellationToken.None).ConfigureAwait(false);
}
catch (Exception ex) when (ex is Npgsql.NpgsqlException or ArgumentException or InvalidOperationException)
{
    await Console.Error.WriteLineAsync($"Cannot use the database: {ex.Message}").ConfigureAwait(false);
    return 1;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "HH:mm:ss.fff ";
    o.UseUtcTimestamp = true;
});
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace); // stdout is the protocol
builder.Logging.SetMinimumLevel(settings.LogLevel);
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

builder.UseOrleans(silo =>
{
    silo.Configure<ClusterOptions>(o =>
    {
        o.ClusterId = settings.ClusterId;
        o.ServiceId = settings.ServiceId;
    });
    silo.Configure<SiloOptions>(o => o.SiloName = settings.Label);
    var free = Job.Hosting.FreePorts.Take(2);
    silo.ConfigureEndpoints(IPAddress.Loopback,
        settings.SiloPort == 0 ? free[0] : settings.SiloPort,
        settings.GatewayPort == 0 ? free[1] : settings.GatewayPort,
        listenOnAnyHostAddress: false);
    if (settings.SiloOnly)
    {
        SiloOnly.AddProviders(silo, settings.ConnectionString);
        return;
    }

    silo.AddJobs(o =>
    {
        o.ConnectionString = settings.ConnectionString;
        o.MaxJobsPerProcess = settings.MaxJobs;
        o.MinJobsPerProcess = settings.MinJobs;
    });
});
builder.Services.AddSingleton<RunCounters>();
if (!settings.SiloOnly)
{
    builder.Services.AddJobInitializer<NoopJob>();
    builder.Services.AddJobInitializer<RecordStartJob>();
    if (settings.TenantTypes > 0)
    {
        TenantTypes.Register(builder.Services, settings.TenantTypes);
    }
}

using var host = builder.Build();
await host.StartAsync().ConfigureAwait(false);

var counters = host.Services.GetRequiredService<RunCounters>();
var siloAddress = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
var registeredTypes = settings.SiloOnly ? 0 : 2 + settings.TenantTypes;
Console.Out.WriteLine(WorkerProtocol.Line(WorkerProtocol.Ready,
[
    ("pid", Environment.ProcessId),
    ("silo", siloAddress.ToParsableString()),
    ("types", registeredTypes),
    ("max", settings.MaxJobs),
    ("min", settings.MinJobs),
    ("runs", counters.Total),
    ("startup_ms", started.ElapsedMilliseconds),
    ("cpu_s", Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)),
    ("jit_methods", System.Runtime.JitInfo.GetCompiledMethodCount()),
]));

var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
_ = Task.Run(() => CommandsAsync(lifetime.ApplicationStopping), CancellationToken.None);
await host.WaitForShutdownAsync().ConfigureAwait(false);
Console.Out.WriteLine(WorkerProtocol.Line(WorkerProtocol.Stopped, [("runs", counters.Total)]));
return 0;

// RUNS, STATS and STOP on stdin; end of stdin stops the worker only when asked to.
async Task CommandsAsync(CancellationToken stopping)
{
    try
    {
        while (await Console.In.ReadLineAsync(stopping).ConfigureAwait(false) is { } line)
        {
            switch (line.Trim())
            {
                case WorkerProtocol.RunsCommand:
                    Console.Out.WriteLine(WorkerProtocol.Line(WorkerProtocol.Runs,
                        [("total", counters.Total), ("noop", counters.Noop), ("start", counters.RecordStart), ("tenant", counters.Tenant)]));
                    break;
                case WorkerProtocol.StatsCommand:
                    var stats = await StatsAsync().ConfigureAwait(false);
                    Console.Out.WriteLine(WorkerProtocol.Stats + " " + JsonSerializer.Serialize(stats, WorkerProtocol.Json));
                    break;
                case WorkerProtocol.StopCommand:
                    lifetime.StopApplication();
                    return;
                default:
                    break;
            }
        }

        if (settings.ExitOnStdinEof)
        {
            lifetime.StopApplication();
        }
    }
    catch (OperationCanceledException)
    {
    }
    catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
    {
        await Console.Error.WriteLineAsync($"stdin commands stopped: {ex.Message}").ConfigureAwait(false);
        if (settings.ExitOnStdinEof)
        {
            lifetime.StopApplication();
        }
    }
}

async Task<WorkerStats> StatsAsync()
{
    var byType = new Dictionary<string, long>(StringComparer.Ordinal);
    long activations = -1;
    try
    {
        var management = host.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        foreach (var s in await management.GetSimpleGrainStatistics([siloAddress]).ConfigureAwait(false))
        {
            byType[s.GrainType] = byType.GetValueOrDefault(s.GrainType) + s.ActivationCount;
        }

        activations = byType.Values.Sum();
    }
    catch (Exception ex) when (ex is not OutOfMemoryException)
    {
        byType["(error) " + ex.GetType().Name] = -1;
    }

    var (rss, peak, threads) = SelfStatus();
    using var self = Process.GetCurrentProcess();
    return new WorkerStats
    {
        Pid = Environment.ProcessId,
        Silo = siloAddress.ToParsableString(),
        RegisteredTypes = registeredTypes,
        NoopRuns = counters.Noop,
        RecordStartRuns = counters.RecordStart,
        TenantRuns = counters.Tenant,
        FirstRunUtc = counters.FirstRunUtc,
        LastRunUtc = counters.LastRunUtc,
        Activations = activations,
        ActivationsByType = byType,
        ActiveTimers = Timer.ActiveCount,
        Threads = threads,
        GcHeapMb = Math.Round(GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0, 2),
        RssMb = rss,
        PeakRssMb = peak,
        CpuSeconds = Math.Round(self.TotalProcessorTime.TotalSeconds, 3),
    };
}

// VmRSS, VmHWM (peak) in MB and the thread count, from /proc/self/status.
static (double Rss, double Peak, int Threads) SelfStatus()
{
    double rss = 0, peak = 0;
    var threads = 0;
    try
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kb(line) / 1024.0;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kb(line) / 1024.0;
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
        }
    }
    catch (IOException)
    {
    }

    return (Math.Round(rss, 1), Math.Round(peak, 1), threads);

    static long Kb(string line) => long.Parse(line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
}
