using System.Runtime.CompilerServices;
using Job.Tests.Infrastructure;

namespace Job.Tests.Runtime;

/// <summary>A failed run keeps the exception as .NET prints it (stack trace and inner exceptions) in its
/// history event, beside its message and type: for a retried attempt and for the last one, cut when long.</summary>
public sealed class ErrorDetailTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Each_failed_attempt_keeps_its_stack_trace_and_inner_exception_and_a_success_keeps_none()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var spawner = jobs.AddInitializer(new TestInitializer($"detail-{Guid.NewGuid():N}", (current, config, _) =>
            config.Value == 0 ? Task.FromResult(JobCompletion.Complete()) : FailingStep(current.Attempt))
        {
            RetryOnErrorSettings = new RetrySettings { NAttempts = 2, MinBackoff = TimeSpan.FromMilliseconds(10), BackoffJitterPct = 0 },
        });
        await jobs.StartPollAsync();
        var failing = await spawner.SpawnAsync(JobId.New(), new TestConfig(1));
        var fine = await spawner.SpawnAsync(JobId.New(), new TestConfig(0));

        var errored = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(failing.Id), j => j.TerminalState == JobTerminalState.Errored);
        var failures = errored.Events.Where(e => e.Type == JobEventTypes.ExecutionErrored).ToList();
        Assert.Equal([1, 2], failures.Select(e => e.Attempt));
        foreach (var failure in failures)
        {
            Assert.Equal($"step {failure.Attempt} failed", failure.ErrorMessage);
            Assert.StartsWith($"System.InvalidOperationException: step {failure.Attempt} failed", failure.ErrorDetail, StringComparison.Ordinal);
            Assert.Contains("---> System.ArgumentException: the cause", failure.ErrorDetail, StringComparison.Ordinal);
            Assert.Contains($"{nameof(ErrorDetailTests)}.{nameof(FailingStep)}", failure.ErrorDetail, StringComparison.Ordinal);
        }

        Assert.All(errored.Events.Where(e => e.Type != JobEventTypes.ExecutionErrored), e => Assert.Null(e.ErrorDetail));
        var completed = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(fine.Id), j => j.Completed);
        Assert.All(completed.Events, e => Assert.Null(e.ErrorDetail));
        Assert.Equal(failures.Select(e => e.ErrorDetail), (await jobs.Admin.GetAsync(failing.Id, new JobHistoryWindow(10))).History.Where(e => e.Type == JobEventTypes.ExecutionErrored).Select(e => e.ErrorDetail));
    }

    [Fact]
    public async Task A_detail_longer_than_the_limit_is_cut_and_says_so()
    {
        await using var harness = new JobsHarness(db.ConnectionString);
        var jobs = await harness.StartAsync();
        var message = new string('x', 20_000);
        var spawner = jobs.AddInitializer(new TestInitializer($"long-{Guid.NewGuid():N}", (_, _, _) => throw new InvalidOperationException(message))
        {
            RetryOnErrorSettings = new RetrySettings { NAttempts = 1 },
        });
        await jobs.StartPollAsync();
        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig());

        var errored = await JobsHarness.EventuallyAsync(() => jobs.FindAsync(job.Id), j => j.TerminalState == JobTerminalState.Errored);
        var failure = Assert.Single(errored.Events, e => e.Type == JobEventTypes.ExecutionErrored);
        Assert.Equal(message, failure.ErrorMessage); // the message is kept whole, as before
        Assert.EndsWith("\n… (cut)", failure.ErrorDetail, StringComparison.Ordinal);
        Assert.Equal(16_384 + "\n… (cut)".Length, failure.ErrorDetail!.Length);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Task<JobCompletion> FailingStep(int attempt)
    {
        try
        {
            throw new ArgumentException("the cause");
        }
        catch (ArgumentException cause)
        {
            throw new InvalidOperationException($"step {attempt} failed", cause);
        }
    }
}
