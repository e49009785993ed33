using Job.Execution;
using static Job.Tests.Retry.RetryTestData;

namespace Job.Tests.Retry;

/// <summary>Crate tests 11–14 (§10.1, <c>mod retry_window</c>).</summary>
public sealed class RetryWindowTests
{
    [Fact]
    public void Crate11_allows_future_windows()
    {
        var futureFailure = Now + TimeSpan.FromMinutes(5);
        var furtherFuture = futureFailure + TimeSpan.FromMinutes(1);

        Assert.NotNull(RetryWindow.TryCreate(futureFailure, furtherFuture));
    }

    [Fact]
    public void Crate12_rejects_inverted_ranges()
    {
        Assert.Null(RetryWindow.TryCreate(Now + TimeSpan.FromMinutes(1), Now));
        Assert.Null(RetryWindow.TryCreate(Now, Now)); // empty range: no backoff to measure
    }

    [Fact]
    public void Crate13_reports_durations()
    {
        var window = RetryWindow.TryCreate(Now - TimeSpan.FromMinutes(30), Now - TimeSpan.FromMinutes(20));

        Assert.NotNull(window);
        Assert.Equal(TimeSpan.FromSeconds(600), window.Value.Backoff);
        Assert.Equal(TimeSpan.FromSeconds(1200), window.Value.ElapsedSinceRetrySchedule(Now));
    }

    [Fact]
    public void Crate14_elapsed_since_retry_schedule_requires_past()
    {
        var window = RetryWindow.TryCreate(Now - TimeSpan.FromMinutes(1), Now + TimeSpan.FromMinutes(1));

        Assert.NotNull(window);
        Assert.Null(window.Value.ElapsedSinceRetrySchedule(Now));
    }

    [Fact]
    public void Elapsed_is_zero_exactly_at_schedule()
    {
        var window = RetryWindow.TryCreate(Now - TimeSpan.FromMinutes(1), Now);

        Assert.Equal(TimeSpan.Zero, window!.Value.ElapsedSinceRetrySchedule(Now));
    }

    [Fact]
    public void Windows_compare_by_instant_across_offsets()
    {
        var failure = Now - TimeSpan.FromMinutes(1);
        var scheduledElsewhere = Now.ToOffset(TimeSpan.FromHours(5));

        var window = RetryWindow.TryCreate(failure, scheduledElsewhere);

        Assert.Equal(TimeSpan.FromMinutes(1), window!.Value.Backoff);
    }
}
