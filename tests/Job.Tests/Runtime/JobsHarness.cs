using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>Starts crate-style services on a test database and shuts them all down at the end.</summary>
public sealed class JobsHarness(string connectionString) : IAsyncDisposable
{
    private readonly List<Jobs> _started = [];

    public string ConnectionString => connectionString;

    private Hosting.JobRuntime? _reader;

    /// <summary>Reads a job with its history straight from the database (no silo needed, so it works
    /// after every service shut down).</summary>
    public async Task<Job> FindAsync(JobId id)
    {
        _reader ??= new Hosting.JobRuntime(new JobsOptions { ConnectionString = connectionString });
        var stored = await _reader.Reads.FindAsync(id, CancellationToken.None) ?? throw new JobNotFoundException(id);
        return _reader.ToJob(stored, await _reader.Reads.EventsAsync(id, CancellationToken.None));
    }

    public async Task<Jobs> StartAsync(Func<JobSvcConfigBuilder, JobSvcConfigBuilder>? configure = null)
    {
        var builder = JobSvcConfig.Builder().PgCon(connectionString)
            .PollerConfig(new JobPollerConfig { ShutdownTimeout = TimeSpan.FromSeconds(2) });
        builder = configure?.Invoke(builder) ?? builder;
        var jobs = await Jobs.InitAsync(builder.Build());
        _started.Add(jobs);
        return jobs;
    }

    /// <summary>Polls <paramref name="probe"/> until <paramref name="done"/> holds and returns the value;
    /// fails the test, naming the condition and the last value seen, when it does not hold in time.
    /// Positive waits only: a generous default, since it costs time only when the wait fails (loaded CI).</summary>
    /// <exception cref="TimeoutException">The condition did not hold within <paramref name="within"/>.</exception>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan? within = null,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(done))] string? condition = null,
        [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(probe))] string? probed = null)
    {
        var limit = within ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            var value = await probe();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {limit} for `{condition}` on `{probed}`; the last value was {Describe(value)}.");
            }

            await Task.Delay(25);
        }
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        Job job => $"job {job.Id} ({job.TerminalState?.ToString() ?? "unfinished"}: {string.Join(", ", job.Events.Select(e => e.Type))})",
        System.Collections.IEnumerable items and not string => $"[{string.Join(", ", items.Cast<object?>().Take(20))}]",
        _ => value.ToString() ?? "",
    };

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

        if (_reader is not null)
        {
            await _reader.DisposeAsync();
        }
    }
}
