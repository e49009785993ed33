using Job.Common;

namespace Job.Tests.Dispatch;

public sealed class DispatchPartsTests
{
    [Fact]
    public void Failure_backoff_doubles_is_capped_and_logs_sparsely()
    {
        var streak = new FailureStreak();
        var logged = new List<int>();
        var delays = new List<TimeSpan>();
        for (var i = 1; i <= 100; i++)
        {
            if (streak.Fail())
            {
                logged.Add(streak.Count);
            }

            delays.Add(streak.Delay);
        }

        Assert.Equal(TimeSpan.FromMilliseconds(100), delays[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(200), delays[1]);
        Assert.Equal(TimeSpan.FromSeconds(10), delays[^1]);
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(10)));
        Assert.Equal([1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], logged);
        Assert.True(streak.Reset());
        Assert.False(streak.Reset());
        Assert.Equal(0, streak.Count);
    }

    [Fact]
    public async Task Wake_signal_coalesces_sets_and_rearms()
    {
        var wake = new WakeSignal();
        Assert.False(wake.WaitTask.IsCompleted);
        wake.Set();
        wake.Set();
        await wake.WaitTask.WaitAsync(TimeSpan.FromSeconds(1));
        wake.Reset();
        Assert.False(wake.WaitTask.IsCompleted);
        wake.Set();
        Assert.True(wake.WaitTask.IsCompleted);
    }
}
