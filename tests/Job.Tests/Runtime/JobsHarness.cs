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

    // Positive waits only: a generous default, since it costs time only when the wait fails (loaded CI).
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
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

    /// <summary>Waits until the job's history holds <paramref name="count"/> execution_scheduled events, so
    /// its next due time is written: a run is recorded before its outcome reads the clock, so advancing an
    /// artificial clock earlier would move that due time.</summary>
    public static async Task WaitScheduledAsync(Jobs jobs, JobId id, int count)
    {
        static int Scheduled(Job job) => job.Events.Count(e => e.Type == JobEventTypes.ExecutionScheduled);
        var found = await EventuallyAsync(() => jobs.FindAsync(id), j => Scheduled(j) >= count);
        Assert.True(Scheduled(found) >= count, $"job {id} has {Scheduled(found)} execution_scheduled events, not {count}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var jobs in _started)
        {
            await jobs.DisposeAsync();
        }
    }
}
