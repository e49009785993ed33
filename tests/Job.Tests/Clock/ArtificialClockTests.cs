using System.Collections.Concurrent;

namespace Job.Tests.Clock;

public sealed class ArtificialClockTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static (ClockHandle Clock, ClockController Controller) Manual()
        => ClockHandle.Artificial(ArtificialClockConfig.ManualAt(Start));

    [Fact]
    public async Task Task_delay_completes_only_after_advancing()
    {
        var (clock, controller) = Manual();

        var delay = Task.Delay(TimeSpan.FromSeconds(10), clock.TimeProvider);
        await Task.Delay(50);

        Assert.False(delay.IsCompleted);
        Assert.Equal(1, controller.PendingWakeCount);

        Assert.Equal(0, await controller.AdvanceAsync(TimeSpan.FromSeconds(9)));
        await Task.Delay(20);
        Assert.False(delay.IsCompleted);

        Assert.Equal(1, await controller.AdvanceAsync(TimeSpan.FromSeconds(1)));
        await delay.WaitAsync(TestTimeout);
        Assert.Equal(0, controller.PendingWakeCount);
        Assert.Equal(Start + TimeSpan.FromSeconds(10), clock.Now);
    }

    [Fact]
    public async Task A_wait_racing_an_advance_to_its_due_time_is_never_stranded()
    {
        var (clock, controller) = Manual();
        for (var i = 0; i < 20000; i++)
        {
            // The waiter reads the clock and registers its wake on another thread while the clock moves
            // to its due time: whichever comes first, the wait ends with this advance, not a later one.
            var due = controller.Now + TimeSpan.FromHours(1);
            var wait = Task.Run(() => clock.DelayUntil(due));
            Thread.SpinWait(Random.Shared.Next(0, 4000)); // sweeps the advance across the waiter's steps
            await controller.AdvanceAsync(TimeSpan.FromHours(1));
            var ended = await Task.WhenAny(wait, Task.Delay(TestTimeout));
            Assert.True(ended == wait, $"iteration {i}: the wait for {due:O} was still pending with the clock at {controller.Now:O}");
        }
    }

    [Fact]
    public async Task Clock_delay_waits_on_the_artificial_clock()
    {
        var (clock, controller) = Manual();

        var delay = clock.Delay(TimeSpan.FromMinutes(5), CancellationToken.None);
        Assert.False(delay.IsCompleted);

        await controller.AdvanceAsync(TimeSpan.FromMinutes(5));
        await delay.WaitAsync(TestTimeout);
        Assert.True(clock.Delay(TimeSpan.FromSeconds(-1), CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Wakes_happen_in_time_order_reading_each_due_time()
    {
        var (clock, controller) = Manual();
        var fired = new ConcurrentQueue<(string Name, DateTimeOffset At)>();
        ITimer Timer(string name, int seconds) => clock.TimeProvider.CreateTimer(
            _ => fired.Enqueue((name, clock.Now)), null, TimeSpan.FromSeconds(seconds), Timeout.InfiniteTimeSpan);

        using var t30 = Timer("30", 30);
        using var t10 = Timer("10", 10);
        using var t20a = Timer("20a", 20);
        using var t20b = Timer("20b", 20);
        using var t90 = Timer("90", 90);

        var processed = await controller.AdvanceAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(4, processed);
        Assert.Equal(
            [
                ("10", Start + TimeSpan.FromSeconds(10)),
                ("20a", Start + TimeSpan.FromSeconds(20)),
                ("20b", Start + TimeSpan.FromSeconds(20)),
                ("30", Start + TimeSpan.FromSeconds(30)),
            ],
            fired.ToArray());
        Assert.Equal(Start + TimeSpan.FromSeconds(60), clock.Now);
        Assert.Equal(1, controller.PendingWakeCount);
    }

    [Fact]
    public async Task Sleepers_created_by_woken_code_are_processed_within_the_same_advance()
    {
        var (clock, controller) = Manual();
        var seen = new ConcurrentQueue<DateTimeOffset>();
        var loop = Task.Run(async () =>
        {
            for (var i = 0; i < 5; i++)
            {
                await clock.Delay(TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(false);
                seen.Enqueue(clock.Now);
            }
        });
        await WaitUntil(() => controller.PendingWakeCount == 1);

        var processed = await controller.AdvanceAsync(TimeSpan.FromSeconds(10));
        await loop.WaitAsync(TestTimeout);

        Assert.Equal(5, processed);
        Assert.Equal(
            Enumerable.Range(1, 5).Select(s => Start + TimeSpan.FromSeconds(s)),
            seen.ToArray());
    }

    [Fact]
    public async Task Advance_to_next_wake_stops_at_the_earliest_wake()
    {
        var (clock, controller) = Manual();
        Assert.False(await controller.AdvanceToNextWakeAsync());
        Assert.Equal(Start, clock.Now);

        var late = Task.Delay(TimeSpan.FromSeconds(20), clock.TimeProvider);
        var early = Task.Delay(TimeSpan.FromSeconds(7), clock.TimeProvider);

        Assert.True(await controller.AdvanceToNextWakeAsync());
        await early.WaitAsync(TestTimeout);
        Assert.Equal(Start + TimeSpan.FromSeconds(7), controller.Now);
        Assert.False(late.IsCompleted);
        Assert.Equal(1, controller.PendingWakeCount);
    }

    [Fact]
    public async Task Set_time_jumps_and_fires_due_timers()
    {
        var (clock, controller) = Manual();
        var soon = Task.Delay(TimeSpan.FromSeconds(10), clock.TimeProvider);
        var later = Task.Delay(TimeSpan.FromSeconds(20), clock.TimeProvider);

        controller.SetTime(Start + TimeSpan.FromSeconds(15));

        Assert.Equal(Start + TimeSpan.FromSeconds(15), clock.Now);
        await soon.WaitAsync(TestTimeout);
        Assert.False(later.IsCompleted);
        Assert.Equal(1, controller.PendingWakeCount);

        controller.SetTime(Start - TimeSpan.FromDays(1));
        Assert.Equal(Start - TimeSpan.FromDays(1), clock.Now);
        Assert.False(later.IsCompleted);
    }

    [Fact]
    public async Task Zero_due_time_fires_without_advancing()
    {
        var (clock, _) = Manual();
        var fired = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);

        using var timer = clock.TimeProvider.CreateTimer(
            _ => fired.TrySetResult(clock.Now), null, TimeSpan.Zero, Timeout.InfiniteTimeSpan);

        Assert.Equal(Start, await fired.Task.WaitAsync(TestTimeout));
    }

    [Fact]
    public async Task Periodic_timer_fires_every_period_in_order()
    {
        var (clock, controller) = Manual();
        var ticks = new ConcurrentQueue<DateTimeOffset>();
        using var timer = clock.TimeProvider.CreateTimer(
            _ => ticks.Enqueue(clock.Now), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        Assert.Equal(3, await controller.AdvanceAsync(TimeSpan.FromSeconds(6)));

        Assert.Equal(
            [Start + TimeSpan.FromSeconds(1), Start + TimeSpan.FromSeconds(3), Start + TimeSpan.FromSeconds(5)],
            ticks.ToArray());
        Assert.Equal(1, controller.PendingWakeCount);
    }

    [Fact]
    public async Task Change_and_dispose_update_the_wake_list()
    {
        var (clock, controller) = Manual();
        var count = 0;
        var timer = clock.TimeProvider.CreateTimer(
            _ => Interlocked.Increment(ref count), null, TimeSpan.FromSeconds(5), Timeout.InfiniteTimeSpan);

        Assert.True(timer.Change(TimeSpan.FromSeconds(20), Timeout.InfiniteTimeSpan));
        await controller.AdvanceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, count);

        Assert.True(timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        Assert.Equal(0, controller.PendingWakeCount);

        timer.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        timer.Dispose();
        Assert.Equal(0, controller.PendingWakeCount);
        Assert.False(timer.Change(TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan));
        await controller.AdvanceAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, count);
    }

    [Fact]
    public async Task Cancelled_delay_leaves_no_pending_wake()
    {
        var (clock, controller) = Manual();
        using var cts = new CancellationTokenSource();
        var delay = clock.Delay(TimeSpan.FromHours(1), cts.Token);
        Assert.Equal(1, controller.PendingWakeCount);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delay.WaitAsync(TestTimeout));
        Assert.Equal(0, controller.PendingWakeCount);
    }

    [Fact]
    public async Task Cancellation_token_timeout_follows_the_clock()
    {
        var (clock, controller) = Manual();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30), clock.TimeProvider);

        await controller.AdvanceAsync(TimeSpan.FromSeconds(29));
        Assert.False(cts.IsCancellationRequested);

        await controller.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.True(cts.IsCancellationRequested);
    }

    [Fact]
    public async Task Delay_until_completes_when_the_clock_reaches_the_due_time()
    {
        var (clock, controller) = Manual();
        var due = Start + TimeSpan.FromDays(90); // longer than a single timer can wait

        var wait = clock.DelayUntil(due, CancellationToken.None);
        Assert.False(wait.IsCompleted);

        await controller.AdvanceAsync(TimeSpan.FromDays(89));
        Assert.False(wait.IsCompleted);

        await controller.AdvanceAsync(TimeSpan.FromDays(1));
        await wait.WaitAsync(TestTimeout);
        Assert.True(clock.Now >= due);
        Assert.True(clock.DelayUntil(Start, CancellationToken.None).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Timestamps_follow_artificial_time()
    {
        var (clock, controller) = Manual();
        var provider = clock.TimeProvider;
        var before = provider.GetTimestamp();

        await controller.AdvanceAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(TimeSpan.FromMinutes(3), provider.GetElapsedTime(before));
    }

    [Fact]
    public async Task Advance_rejects_negative_span()
    {
        var (_, controller) = Manual();

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => controller.AdvanceAsync(TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void Start_time_is_truncated_to_milliseconds_and_utc()
    {
        var start = new DateTimeOffset(2025, 6, 1, 10, 0, 0, TimeSpan.FromHours(2)).AddTicks(12_345);

        var (clock, _) = ClockHandle.Artificial(ArtificialClockConfig.ManualAt(start));

        Assert.Equal(new DateTimeOffset(2025, 6, 1, 8, 0, 0, 1, TimeSpan.Zero), clock.Now);
        Assert.Equal(TimeSpan.Zero, clock.Now.Offset);
        Assert.True(clock.IsArtificial);
    }

    [Fact]
    public void Manual_default_starts_near_real_time_on_a_millisecond()
    {
        var before = DateTimeOffset.UtcNow.AddMilliseconds(-1);

        var config = ArtificialClockConfig.Manual();

        Assert.Equal(ArtificialClockMode.Manual, config.Mode);
        Assert.Equal(0, config.StartAt.UtcTicks % TimeSpan.TicksPerMillisecond);
        Assert.InRange(config.StartAt, before, DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Manual_clock_stands_still()
    {
        var (clock, _) = Manual();

        await Task.Delay(30);

        Assert.Equal(Start, clock.Now);
    }

    [Theory]
    [InlineData(0d)]
    [InlineData(-1d)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Auto_rejects_invalid_time_scale(double scale)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ArtificialClockConfig.Auto(scale));
    }

    [Fact]
    public async Task Auto_mode_moves_forward_at_scale_and_fires_timers()
    {
        var (clock, _) = ClockHandle.Artificial(ArtificialClockConfig.AutoAt(Start, 1000));

        await Task.Delay(50);
        var afterFifty = clock.Now;
        Assert.True(afterFifty >= Start + TimeSpan.FromSeconds(40), $"expected ≥ 40 s artificial, got {afterFifty - Start}");

        var fired = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
        var scheduledAt = clock.Now;
        using var timer = clock.TimeProvider.CreateTimer(
            _ => fired.TrySetResult(clock.Now), null, TimeSpan.FromSeconds(30), Timeout.InfiniteTimeSpan);

        var firedAt = await fired.Task.WaitAsync(TestTimeout);
        Assert.True(firedAt >= scheduledAt + TimeSpan.FromSeconds(30));

        await clock.Delay(TimeSpan.FromSeconds(20), CancellationToken.None).WaitAsync(TestTimeout);
    }

    [Fact]
    public async Task Auto_mode_can_still_be_advanced()
    {
        var (clock, controller) = ClockHandle.Artificial(ArtificialClockConfig.AutoAt(Start, 1));
        var delay = clock.Delay(TimeSpan.FromHours(1), CancellationToken.None);

        await controller.AdvanceAsync(TimeSpan.FromHours(1));

        await delay.WaitAsync(TestTimeout);
        Assert.True(clock.Now >= Start + TimeSpan.FromHours(1));
    }

    [Fact]
    public async Task Realtime_clock_uses_the_system_clock()
    {
        var clock = ClockHandle.Realtime();

        Assert.False(clock.IsArtificial);
        Assert.Same(TimeProvider.System, clock.TimeProvider);
        Assert.Same(clock, ClockHandle.FromTimeProvider(TimeProvider.System));
        Assert.InRange(clock.Now, DateTimeOffset.UtcNow.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(5));

        await clock.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None).WaitAsync(TestTimeout);
        var due = clock.Now + TimeSpan.FromMilliseconds(30);
        await clock.DelayUntil(due, CancellationToken.None).WaitAsync(TestTimeout);
        Assert.True(clock.Now >= due);
    }

    private static async Task WaitUntil(Func<bool> condition, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(condition))] string? what = null)
    {
        var deadline = DateTime.UtcNow + TestTimeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"`{what}` did not hold within {TestTimeout}");
            await Task.Delay(5);
        }
    }
}
