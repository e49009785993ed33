using Microsoft.Extensions.Options;

namespace Job;

/// <summary>
/// The rules for <see cref="JobsOptions"/>, run when the host starts (<c>ValidateOnStart</c>) and by
/// the crate-style builder. Every setting has a lower and an upper bound: a value past them would
/// not be a choice but an accident (five days typed for five seconds), and several would overflow
/// arithmetic on dates and timers inside the runtime.
/// </summary>
public sealed class JobsOptionsValidator : IValidateOptions<JobsOptions>
{
    /// <summary>The most jobs one silo may run at once.</summary>
    public const int MaxJobsLimit = 10_000;

    /// <summary>The largest config a job may have (<see cref="JobLimits.MaxConfigBytesLimit"/>).</summary>
    public const int MaxConfigBytesLimit = JobLimits.MaxConfigBytesLimit;

    /// <summary>The longest <see cref="JobsOptions.JobLostInterval"/>: a day without a heartbeat.</summary>
    public static readonly TimeSpan MaxJobLostInterval = TimeSpan.FromDays(1);

    /// <summary>The longest <see cref="JobsOptions.ShutdownTimeout"/>: an hour (orchestrators kill long before).</summary>
    public static readonly TimeSpan MaxShutdownTimeout = TimeSpan.FromHours(1);

    /// <summary>The longest <see cref="JobsOptions.MaxPollInterval"/>.</summary>
    public static readonly TimeSpan MaxPollIntervalLimit = TimeSpan.FromHours(1);

    /// <summary>The longest <see cref="JobsOptions.HistoryRetention"/>: ten years (null keeps jobs forever).</summary>
    public static readonly TimeSpan MaxHistoryRetention = TimeSpan.FromDays(3650);

    /// <summary>The longest <see cref="JobsOptions.MembershipProbeTimeout"/>.</summary>
    public static readonly TimeSpan MaxProbeTimeout = TimeSpan.FromMinutes(1);

    /// <summary>The longest <see cref="JobsOptions.MembershipPauseTolerance"/>.</summary>
    public static readonly TimeSpan MaxPauseTolerance = TimeSpan.FromMinutes(10);

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, JobsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Failures(options).ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Every rule the options break, each as one sentence naming the setting.</summary>
    internal static IEnumerable<string> Failures(JobsOptions o)
    {
        foreach (var failure in JobLimits.ConnectionFailures(o.ConnectionString, o.DataSource, "JobsOptions")
            .Concat(JobLimits.SchemaFailures(o.Schema, "JobsOptions")))
        {
            yield return failure;
        }

        if (o.MaxJobsPerProcess is < 1 or > MaxJobsLimit)
        {
            yield return $"JobsOptions.MaxJobsPerProcess must be between 1 and {MaxJobsLimit} (it is {o.MaxJobsPerProcess}).";
        }

        if (o.MinJobsPerProcess < 1 || o.MinJobsPerProcess > Math.Max(1, o.MaxJobsPerProcess))
        {
            yield return $"JobsOptions.MinJobsPerProcess must be between 1 and MaxJobsPerProcess ({o.MaxJobsPerProcess}); it is {o.MinJobsPerProcess}.";
        }

        if (OutOfRange(o.JobLostInterval, TimeSpan.FromSeconds(1), MaxJobLostInterval) is { } lost)
        {
            yield return $"JobsOptions.JobLostInterval must be {lost} (it is {o.JobLostInterval}); heartbeats are sent every quarter of it.";
        }

        if (OutOfRange(o.ShutdownTimeout, TimeSpan.Zero, MaxShutdownTimeout) is { } shutdown)
        {
            yield return $"JobsOptions.ShutdownTimeout must be {shutdown} (it is {o.ShutdownTimeout}).";
        }

        if (OutOfRange(o.MaxPollInterval, TimeSpan.FromMilliseconds(10), MaxPollIntervalLimit) is { } poll)
        {
            yield return $"JobsOptions.MaxPollInterval must be {poll} (it is {o.MaxPollInterval}).";
        }

        if (o.HistoryRetention is { } retention && OutOfRange(retention, TimeSpan.FromSeconds(1), MaxHistoryRetention) is { } kept)
        {
            yield return $"JobsOptions.HistoryRetention must be {kept}, or unset to keep finished jobs forever (it is {retention}).";
        }

        if (o.MembershipProbeTimeout is { } probe && OutOfRange(probe, TimeSpan.FromMilliseconds(100), MaxProbeTimeout) is { } probeRange)
        {
            yield return $"JobsOptions.MembershipProbeTimeout must be {probeRange}, or null to keep Orleans' setting (it is {probe}).";
        }

        if (o.MembershipPauseTolerance is { } pause && OutOfRange(pause, TimeSpan.FromMilliseconds(300), MaxPauseTolerance) is { } pauseRange)
        {
            yield return $"JobsOptions.MembershipPauseTolerance must be {pauseRange}, or null to keep Orleans' setting (it is {pause}).";
        }
        else if (o.MembershipPauseTolerance is { } tolerance && o.MembershipProbeTimeout is { } probeTimeout
            && probeTimeout <= MaxProbeTimeout && tolerance < 3 * probeTimeout)
        {
            yield return $"JobsOptions.MembershipPauseTolerance ({tolerance}) must be at least three times MembershipProbeTimeout ({probeTimeout}): " +
                "a silo is declared dead after three missed probes, so a shorter tolerance cannot take effect.";
        }

        foreach (var failure in JobLimits.ConfigBytesFailures(o.MaxConfigBytes, "JobsOptions"))
        {
            yield return failure;
        }

        if (o.Clock is null)
        {
            yield return "JobsOptions.Clock must be set (ClockHandle.Realtime() by default).";
        }

        if (o.JsonSerializerOptions is null)
        {
            yield return "JobsOptions.JsonSerializerOptions must be set.";
        }
    }

    private static string? OutOfRange(TimeSpan value, TimeSpan min, TimeSpan max) =>
        value >= min && value <= max ? null : $"between {min} and {max}";
}
