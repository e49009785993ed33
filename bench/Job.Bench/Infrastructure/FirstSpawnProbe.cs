using System.Diagnostics;
using System.Globalization;
using Job.BenchWorker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace Job.Bench.Infrastructure;

/// <summary>
/// This program started as a fresh process (<c>--first-spawn &lt;mode&gt; &lt;connection string&gt;
/// &lt;cluster id&gt; &lt;service id&gt;</c>) that spawns one <c>bench.noop</c> job the way an application
/// would on its first request, and reports when the spawn was committed. Modes:
/// <list type="bullet">
/// <item><c>client</c>: <c>JobClient.Create</c>, then <c>Spawner&lt;T&gt;().SpawnAsync</c>.</item>
/// <item><c>addjobclient</c>: <c>services.AddJobClient(…)</c>, the container built, <c>JobClient</c> resolved, spawn.</item>
/// <item><c>orleans</c>: a plain Orleans client (<c>UseOrleansClient(c =&gt; c.UseJobCluster(cs))</c>) started
/// on the Generic Host, then <c>SpawnJobAsync</c> through the workers' cluster.</item>
/// <item><c>facade</c>: <c>Jobs.InitAsync</c> (a silo in this process, joining the workers' cluster),
/// then a spawn through its <c>Client</c>.</item>
/// </list>
/// It prints <c>FIRSTSPAWN mode=… ready_ms=… spawned_ms=… committed_utc=… id=…</c>: milliseconds from
/// entering Main to the client being ready and to the spawn committed, and the commit's UTC wall clock
/// (the bench measures from its own clock at launch, so the runtime's start is included).
/// </summary>
internal static class FirstSpawnProbe
{
    private const string Flag = "--first-spawn";

    public static readonly string[] Modes = ["client", "addjobclient", "orleans", "facade"];

    public static bool IsProbeInvocation(string[] args) => args.Length > 0 && args[0] == Flag;

    /// <summary>The arguments that start a probe.</summary>
    public static IEnumerable<string> Arguments(string mode, string connectionString, string clusterId, string serviceId) =>
        [Flag, mode, connectionString, clusterId, serviceId];

    public static async Task<int> RunAsync(string[] args)
    {
        var main = Stopwatch.StartNew();
        if (args.Length != 5 || !Modes.Contains(args[1]))
        {
            await Console.Error.WriteLineAsync($"usage: {Flag} <{string.Join('|', Modes)}> <connection string> <cluster id> <service id>").ConfigureAwait(false);
            return 2;
        }

        var (mode, cs, clusterId, serviceId) = (args[1], args[2], args[3], args[4]);
        var type = new JobType(WorkerJobTypes.Noop);
        var id = JobId.New();
        double ready;
        switch (mode)
        {
            case "client":
            {
                await using var client = JobClient.Create(new JobClientOptions { ConnectionString = cs });
                ready = main.Elapsed.TotalMilliseconds;
                await client.Spawner<NoopConfig>(type).SpawnAsync(id, new NoopConfig()).ConfigureAwait(false);
                Report(mode, ready, main, id);
                break;
            }

            case "addjobclient":
            {
                var services = new ServiceCollection();
                services.AddJobClient(o => o.ConnectionString = cs);
                await using var provider = services.BuildServiceProvider();
                var client = provider.GetRequiredService<JobClient>();
                ready = main.Elapsed.TotalMilliseconds;
                await client.Spawner<NoopConfig>(type).SpawnAsync(id, new NoopConfig()).ConfigureAwait(false);
                Report(mode, ready, main, id);
                break;
            }

            case "orleans":
            {
                var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
                builder.UseOrleansClient(client =>
                {
                    client.Configure<ClusterOptions>(o =>
                    {
                        o.ClusterId = clusterId;
                        o.ServiceId = serviceId;
                    });
                    client.UseJobCluster(cs);
                });
                using var host = builder.Build();
                await host.StartAsync().ConfigureAwait(false);
                ready = main.Elapsed.TotalMilliseconds;
                await host.Services.GetRequiredService<IClusterClient>().SpawnJobAsync(type, id, new NoopConfig()).ConfigureAwait(false);
                Report(mode, ready, main, id);
                await host.StopAsync().ConfigureAwait(false);
                break;
            }

            default:
            {
                var config = JobSvcConfig.Builder().PgCon(cs).Cluster(clusterId, serviceId).Build();
                await using var jobs = await Jobs.InitAsync(config).ConfigureAwait(false);
                ready = main.Elapsed.TotalMilliseconds;
                await jobs.Client.Spawner<NoopConfig>(type).SpawnAsync(id, new NoopConfig()).ConfigureAwait(false);
                Report(mode, ready, main, id);
                await jobs.ShutdownAsync().ConfigureAwait(false);
                break;
            }
        }

        return 0;
    }

    private static void Report(string mode, double ready, Stopwatch main, JobId id)
    {
        var spawned = main.Elapsed.TotalMilliseconds;
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"FIRSTSPAWN mode={mode} ready_ms={ready:F1} spawned_ms={spawned:F1} committed_utc={DateTime.UtcNow:O} id={id}"));
        Console.Out.Flush();
    }
}
