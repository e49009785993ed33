// Spawns a job by type name from a plain Orleans client and waits for it:
//   dotnet run --project samples/JobClient -- "<connection string>" <job type> '<config json>' [clusterId] [serviceId]
using Job;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: JobClient <connection string> <job type> <config json> [clusterId] [serviceId]");
    return 2;
}

var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
builder.UseOrleansClient(client =>
{
    client.Configure<ClusterOptions>(o =>
    {
        o.ClusterId = args.Length > 3 ? args[3] : "job";
        o.ServiceId = args.Length > 4 ? args[4] : "job";
    });
    client.UseAdoNetClustering(o =>
    {
        o.Invariant = "Npgsql";
        o.ConnectionString = args[0];
    });
});
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IClusterClient>();

var snapshot = await grains.GetGrain<IJobTypeGrain>(args[1]).SpawnAsync(new JobSpawnRequest { Id = JobId.New(), ConfigJson = args[2] });
Console.WriteLine($"spawned {snapshot.Id} ({snapshot.JobType}): {snapshot.Status}");
var done = await grains.GetGrain<IJobGrain>(snapshot.Id.Value).AwaitCompletionAsync(TimeSpan.FromMinutes(1));
Console.WriteLine($"finished {done.Id}: {done.Status}");
foreach (var e in await grains.GetGrain<IJobGrain>(snapshot.Id.Value).GetHistoryAsync())
{
    Console.WriteLine($"  {e.RecordedAt:O} {e.Type} attempt={e.Attempt} {e.ErrorMessage}");
}

await host.StopAsync();
return done.Status == JobStatus.Completed ? 0 : 1;
