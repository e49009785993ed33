using Job;
using Job.Worker;
using Worker;

// A deployable Job worker: an Orleans silo that runs this team's job types, sharing them with every
// other worker on the same database and cluster id. Configuration: appsettings.json next to the
// program, then environment variables (ConnectionStrings__Jobs, Orleans__AdvertisedIP, ...), then
// --Key=Value arguments. Endpoints: GET /healthz, /readyz, /metrics on Health:Port (8080).
try
{
    var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
    builder.Configuration.AddJobWorkerSettings(args);
    builder.AddJobWorker();

    // The team's job types. Each gets an injectable JobSpawner<TConfig> for spawning its jobs.
    builder.Services.AddJobInitializer<BatchJob>();

    await using var app = builder.Build();
    app.MapJobWorkerEndpoints();
    // Runs until SIGTERM or Ctrl-C, then stops claiming, gives running jobs Jobs:ShutdownTimeout to
    // finish, hands the rest back to other workers and leaves the cluster.
    await app.RunAsync();
    return 0;
}
catch (JobWorkerUsageException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}
catch (Exception ex) when (ex is not OutOfMemoryException)
{
    // One line, never a stack trace or a connection string: a bad setting names its key.
    Console.Error.WriteLine($"error: {JobWorkerErrors.Describe(ex)}");
    return 1;
}
