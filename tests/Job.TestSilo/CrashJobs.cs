using Npgsql;

namespace Job.TestSilo;

/// <summary>The config of <c>crash.work</c>: how long the first attempt and later attempts run.</summary>
public sealed record CrashConfig(int DurationMs = 0, int? LaterAttemptDurationMs = null);

/// <summary>
/// <c>crash.work</c>: records the start of every run in <c>test_runs</c> (own autocommit, so a
/// run that is killed later still leaves its row), sleeps its duration (deaf to the shutdown
/// signal, like a job that cannot be interrupted), stamps <c>finished_at</c>, and completes.
/// The test creates <c>test_runs</c> before spawning.
/// </summary>
public sealed class CrashWorkJob(ILocalSiloDetails silo) : IJobInitializer<CrashConfig>
{
    public JobType JobType { get; } = new("crash.work");

    // Never gives up and retries quickly: the crash tests count runs, not retry policy.
    public RetrySettings RetryOnErrorSettings => TestRuns.QuickRetries;

    public IJobRunner Init(Job job, JobSpawner<CrashConfig> spawner) =>
        new Runner(job.Config<CrashConfig>() ?? new CrashConfig(), silo.SiloAddress.ToParsableString());

    private sealed class Runner(CrashConfig config, string silo) : IJobRunner
    {
        public async Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            await TestRuns.RecordStartAsync(currentJob, silo).ConfigureAwait(false);

            var duration = currentJob.Attempt > 1 && config.LaterAttemptDurationMs is { } later ? later : config.DurationMs;
            if (duration > 0)
            {
                await Task.Delay(duration, CancellationToken.None).ConfigureAwait(false);
            }

            await TestRuns.RecordEndAsync(currentJob, silo).ConfigureAwait(false);
            return JobCompletion.Complete();
        }
    }
}

/// <summary>The config of <c>crash.block</c>.</summary>
public sealed record BlockConfig(int PollMs = 200);

/// <summary>
/// <c>crash.block</c>: records its start like <c>crash.work</c>, then runs until a row with its id
/// appears in <c>test_release</c> (created by the test), then completes.
/// </summary>
public sealed class CrashBlockJob(ILocalSiloDetails silo) : IJobInitializer<BlockConfig>
{
    public JobType JobType { get; } = new("crash.block");

    public RetrySettings RetryOnErrorSettings => TestRuns.QuickRetries;

    public IJobRunner Init(Job job, JobSpawner<BlockConfig> spawner) =>
        new Runner(job.Config<BlockConfig>() ?? new BlockConfig(), silo.SiloAddress.ToParsableString());

    private sealed class Runner(BlockConfig config, string silo) : IJobRunner
    {
        public async Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            await TestRuns.RecordStartAsync(currentJob, silo).ConfigureAwait(false);

            while (true)
            {
                try
                {
                    await using var check = currentJob.DataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM test_release WHERE job_id = @id)");
                    check.Parameters.AddWithValue("id", currentJob.Id.Value);
                    if (await check.ExecuteScalarAsync(CancellationToken.None).ConfigureAwait(false) is true)
                    {
                        return JobCompletion.Complete();
                    }
                }
                catch (NpgsqlException)
                {
                    // Keep blocking through a database restart.
                }

                await Task.Delay(config.PollMs, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>What the test job types share: quick, endless retries and the start record.</summary>
internal static class TestRuns
{
    public static readonly RetrySettings QuickRetries = new()
    {
        NAttempts = null,
        MinBackoff = TimeSpan.FromMilliseconds(200),
        MaxBackoff = TimeSpan.FromSeconds(2),
    };

    // Stamps the end of this run (only a measurement: the database may be restarting).
    public static async Task RecordEndAsync(CurrentJob currentJob, string silo)
    {
        try
        {
            await using var update = currentJob.DataSource.CreateCommand(
                "UPDATE test_runs SET finished_at = now() WHERE job_id = @id AND attempt = @attempt AND silo = @silo AND finished_at IS NULL");
            update.Parameters.AddWithValue("id", currentJob.Id.Value);
            update.Parameters.AddWithValue("attempt", currentJob.Attempt);
            update.Parameters.AddWithValue("silo", silo);
            await update.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (NpgsqlException)
        {
        }
    }

    // One row per execution, written first in its own statement, so a run killed later still counts.
    public static async Task RecordStartAsync(CurrentJob currentJob, string silo)
    {
        await using var insert = currentJob.DataSource.CreateCommand(
            "INSERT INTO test_runs (job_id, attempt, silo) VALUES (@id, @attempt, @silo)");
        insert.Parameters.AddWithValue("id", currentJob.Id.Value);
        insert.Parameters.AddWithValue("attempt", currentJob.Attempt);
        insert.Parameters.AddWithValue("silo", silo);
        await insert.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
    }
}

/// <summary>
/// <c>crash.die</c>: records its start, then kills its own process (SIGKILL), like a job that
/// crashes its silo every time it runs. Two attempts at most: a job that keeps killing silos must
/// end errored, not be rescued forever.
/// </summary>
public sealed class CrashDieJob(ILocalSiloDetails silo) : IJobInitializer<BlockConfig>
{
    public JobType JobType { get; } = new("crash.die");

    public RetrySettings RetryOnErrorSettings { get; } = new() { NAttempts = 2, MinBackoff = TimeSpan.FromMilliseconds(200) };

    public IJobRunner Init(Job job, JobSpawner<BlockConfig> spawner) => new Runner(silo.SiloAddress.ToParsableString());

    private sealed class Runner(string silo) : IJobRunner
    {
        public async Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken)
        {
            await TestRuns.RecordStartAsync(currentJob, silo).ConfigureAwait(false);
            Console.Out.WriteLine($"crash.die {currentJob.Id} attempt {currentJob.Attempt}: killing this process");
            Console.Out.Flush();
            System.Diagnostics.Process.GetCurrentProcess().Kill();
            await Task.Delay(Timeout.Infinite, CancellationToken.None).ConfigureAwait(false);
            return JobCompletion.Complete();
        }
    }
}

/// <summary><c>crash.fail</c>: fails every run with a recognisable message; one attempt.</summary>
public sealed class CrashFailJob : IJobInitializer<BlockConfig>
{
    /// <summary>The message every run fails with.</summary>
    public const string Message = "crash.fail fails on purpose";

    public JobType JobType { get; } = new("crash.fail");

    public RetrySettings RetryOnErrorSettings { get; } = new() { NAttempts = 1 };

    public IJobRunner Init(Job job, JobSpawner<BlockConfig> spawner) => new Runner();

    private sealed class Runner : IJobRunner
    {
        public Task<JobCompletion> RunAsync(CurrentJob currentJob, CancellationToken cancellationToken) =>
            throw new InvalidOperationException(Message);
    }
}
