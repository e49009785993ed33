// Spawns a demo.hello job (the demo worker's type: src/Job.Silo, deploy/local/run.sh) from a plain Orleans
// client, waits for it and prints its history:
//   dotnet run --project samples/JobClient -- "<connection string>" [name] [job type]
// The client finds the workers through Job's database (UseJobCluster: schema job, cluster id job) and
// spawns with a typed config; no JSON is written here.
using Job;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

if (args.Length is < 1 or > 3)
{
    Console.Error.WriteLine("usage: JobClient <connection string> [name] [job type, default demo.hello]");
    return 2;
}

var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
builder.UseOrleansClient(client => client.UseJobCluster(args[0]));
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IClusterClient>();

var type = new JobType(args.Length > 2 ? args[2] : "demo.hello");
var spawned = await grains.SpawnJobAsync(type, JobId.New(), new HelloConfig(args.Length > 1 ? args[1] : "Orleans client"));
Console.WriteLine($"spawned {spawned.Id} ({spawned.JobType}): {spawned.Status}");
var done = await grains.AwaitJobCompletionAsync(spawned.Id, TimeSpan.FromMinutes(1));
Console.WriteLine($"finished {done.Id} for {done.Config<HelloConfig>().Name}: {done.Status}");
foreach (var e in await grains.GetJobHistoryAsync(done.Id))
{
    Console.WriteLine($"  {e.RecordedAt:O} {e.Type} attempt={e.Attempt} {e.ErrorMessage}");
}

await host.StopAsync();
return done.Status == JobStatus.Completed ? 0 : 1;

/// <summary>demo.hello's config, as the worker reads it (src/Job.Silo/Samples/HelloJob.cs).</summary>
internal sealed record HelloConfig(string Name);
