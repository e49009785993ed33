using Job.Hosting;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Runtime;

namespace Job.Tests.Worker;

/// <summary>
/// The runtime's readiness check (issue 14.6, 10.20): ready only while the silo is Active and the
/// database answers; when it does not, the result says so in fixed words and PostgreSQL's own text
/// goes to the log at Warning only, since probes answer unauthenticated callers.
/// </summary>
public sealed class JobsHealthCheckTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Ready_when_the_silo_is_active_and_the_database_answers()
    {
        await using var runtime = new JobRuntime(new JobsOptions { ConnectionString = db.ConnectionString });
        var (check, lifecycle, _) = Create(runtime);

        Assert.Equal(JobsHealthCheck.NotActive, (await RunAsync(check)).Description);
        await lifecycle.StartAsync();
        var ready = await RunAsync(check);
        Assert.Equal(HealthStatus.Healthy, ready.Status);
        Assert.Equal(JobsHealthCheck.Ready, ready.Description);
        await lifecycle.StopAsync();
        Assert.Equal(JobsHealthCheck.NotActive, (await RunAsync(check)).Description);
    }

    [Fact]
    public async Task A_database_error_stays_in_the_log()
    {
        var wrongPassword = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Password = "not-the-password", Pooling = false }.ConnectionString;
        await using var runtime = new JobRuntime(new JobsOptions { ConnectionString = wrongPassword });
        var (check, lifecycle, logs) = Create(runtime);
        await lifecycle.StartAsync();

        var result = await RunAsync(check);

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Equal(JobsHealthCheck.DatabaseUnavailable, result.Description);
        Assert.Null(result.Exception);
        var logged = Assert.Single(logs.Entries, e => e.Category == typeof(JobsHealthCheck).FullName);
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Contains("password authentication failed", logged.Message, StringComparison.Ordinal);
    }

    private static (IHealthCheck Check, FakeLifecycle Lifecycle, CapturingLoggerProvider Logs) Create(JobRuntime runtime)
    {
        var readiness = new JobSiloReadiness();
        var lifecycle = new FakeLifecycle();
        readiness.Participate(lifecycle);
        var logs = new CapturingLoggerProvider();
        var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var check = new JobsHealthCheck(readiness, runtime, new Lifetime(), factory.CreateLogger<JobsHealthCheck>());
        return (check, lifecycle, logs);
    }

    private static Task<HealthCheckResult> RunAsync(IHealthCheck check) =>
        check.CheckHealthAsync(new HealthCheckContext
        {
            Registration = new HealthCheckRegistration("jobs", check, HealthStatus.Unhealthy, [JobsHealthCheck.ReadyTag]),
        });

    /// <summary>Every log entry, with its exception's message.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        public System.Collections.Concurrent.ConcurrentQueue<(LogLevel Level, string Category, string Message)> Entries { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Entries.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : " " + exception.Message)));
        }
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }

    /// <summary>A silo lifecycle that runs its observers' start and stop on demand.</summary>
    private sealed class FakeLifecycle : ISiloLifecycle
    {
        private readonly List<ILifecycleObserver> _observers = [];

        public int HighestCompletedStage { get; private set; }

        public int LowestStoppedStage { get; private set; }

        public IDisposable Subscribe(string observerName, int stage, ILifecycleObserver observer)
        {
            _observers.Add(observer);
            return new Unsubscriber();
        }

        public async Task StartAsync()
        {
            foreach (var observer in _observers)
            {
                await observer.OnStart(CancellationToken.None);
            }
        }

        public async Task StopAsync()
        {
            foreach (var observer in _observers)
            {
                await observer.OnStop(CancellationToken.None);
            }
        }

        private sealed class Unsubscriber : IDisposable
        {
            public void Dispose()
            {
            }
        }
    }
}
