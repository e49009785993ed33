using System.Reflection;
using Job.Scheduling;
using Job.Worker;

namespace Job.Tests.Worker;

/// <summary>The one line a worker prints when its start fails: Job's own wording, not the library
/// message it wraps.</summary>
public sealed class JobWorkerErrorsTests
{
    [Theory]
    [InlineData("61 * * * *", "UTC", "'61 * * * *' is not a usable cron expression: ")]
    [InlineData("0 2 * * *", "Europe/Atlantis", "'Europe/Atlantis' is not a time zone this machine knows.")]
    public void A_bad_schedule_declared_in_code_is_described_in_Jobs_words(string cron, string timeZone, string expected)
    {
        var bad = Assert.ThrowsAny<InvalidJobScheduleException>(() => CronSchedule.Parse("nightly", cron, timeZone));
        Assert.NotNull(bad.InnerException); // Cronos' or the runtime's message, which names neither the expression nor the zone

        // As a host's start surfaces it: wrapped, perhaps more than once.
        var started = new InvalidOperationException("host start failed", new TargetInvocationException(bad));
        var line = JobWorkerErrors.Describe(started);
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.Equal(bad.Message, line);
    }
}
