using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Job.Silo.Samples;

/// <summary>
/// With <c>Demo:SpawnOnStart</c> = N &gt; 0: once the silo has started, spawns N <c>demo.hello</c> jobs,
/// one <c>demo.flaky</c> job, and the <c>demo.recurring</c> job unless it already exists.
/// </summary>
internal sealed partial class DemoSpawner(
    int count,
    JobSpawner<HelloConfig> hello,
    JobSpawner<FlakyConfig> flaky,
    JobSpawner<RecurringConfig> recurring,
    IHostApplicationLifetime lifetime,
    ILogger<DemoSpawner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        try
        {
            var specs = Enumerable.Range(1, count).Select(i => new JobSpec<HelloConfig>(JobId.New(), new HelloConfig($"demo {i}")));
            await hello.SpawnAllAsync(specs, stoppingToken).ConfigureAwait(false);
            await flaky.SpawnAsync(JobId.New(), new FlakyConfig(), stoppingToken).ConfigureAwait(false);
            try
            {
                await recurring.SpawnAsync(RecurringJob.DemoJobId, new RecurringConfig(), stoppingToken).ConfigureAwait(false);
            }
            catch (DuplicateJobIdException)
            {
                // Spawned by an earlier start or another silo: one is enough.
            }

            LogSpawned(count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSpawnFailed(ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo: spawned {Count} demo.hello jobs and one demo.flaky job; demo.recurring is scheduled.")]
    private partial void LogSpawned(int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Demo: spawning the demo jobs failed.")]
    private partial void LogSpawnFailed(Exception exception);
}
