// The README's quick start, compiled and run by the tests (QuickStartTests) so it stays true.
using Job;

var connectionString = args.Length > 0 ? args[0] : "Host=localhost;Database=jobs;Username=app;Password=secret";

// Jobs starts an Orleans silo in this process, joined to every other process on the same database.
var config = JobSvcConfig.Builder()
    .PgCon(connectionString)
    .Build();                                    // migrations run at start by default
await using var jobs = await Jobs.InitAsync(config);
JobSpawner<MyConfig> spawner = jobs.AddInitializer(new MyInitializer());
await jobs.StartPollAsync();

var job = await spawner.SpawnAsync(JobId.New(), new MyConfig(42));
var done = await jobs.AwaitCompletionAsync(job.Id, TimeSpan.FromSeconds(30));
Console.WriteLine($"Job {job.Id}: {done.Status}");
await jobs.ShutdownAsync();

public sealed record MyConfig(int Value);

public sealed class MyInitializer : IJobInitializer<MyConfig>
{
    public JobType JobType => new("my-job");

    public IJobRunner Init(Job.Job job, JobSpawner<MyConfig> spawner) => new MyRunner(job.Config<MyConfig>().Value);
}

public sealed class MyRunner(int value) : IJobRunner
{
    public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
    {
        Console.WriteLine($"Processing value: {value}");
        return Task.FromResult(JobCompletion.Complete());
    }
}
