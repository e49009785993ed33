using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>Starts crate-style services on a test database and shuts them all down at the end.</summary>
public sealed class JobsHarness(string connectionString) : IAsyncDisposable
{
    private readonly List<Jobs> _started = [];

    public string ConnectionString => connectionString;

    public async Task<Jobs> StartAsync(Func<JobSvcConfigBuilder, JobSvcConfigBuilder>? configure = null)
    {
        var builder = JobSvcConfig.Builder().PgCon(connectionString)
            .PollerConfig(new JobPollerConfig { ShutdownTimeout = TimeSpan.FromSeconds(2) });
        builder = configure?.Invoke(builder) ?? builder;
        var jobs = await Jobs.InitAsync(builder.Build());
        _started.Add(jobs);
        return jobs;
    }

    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var value = await probe();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var jobs in _started)
        {
            await jobs.DisposeAsync();
        }
    }
}
