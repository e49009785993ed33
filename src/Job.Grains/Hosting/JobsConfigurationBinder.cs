using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Job;

/// <summary>
/// Binds the <c>Jobs</c> configuration section onto <see cref="JobsOptions"/>, strictly: a key the
/// options do not have is an error (a misspelled setting must not be silently ignored), and a
/// duration must carry its unit (<c>5s</c>, <c>500ms</c>, <c>2m</c>, <c>1h</c>, <c>7d</c> or
/// <c>00:00:05</c>), because .NET reads a bare <c>5</c> as five days. Errors name the key and
/// never echo the value: a value given by mistake may be a connection string with its password.
/// </summary>
public static class JobsConfigurationBinder
{
    private static readonly Dictionary<string, Action<JobsOptions, string, string>> s_setters = new(StringComparer.OrdinalIgnoreCase)
    {
        [nameof(JobsOptions.ConnectionString)] = (o, _, v) => o.ConnectionString = v,
        [nameof(JobsOptions.Schema)] = (o, _, v) => o.Schema = v.Trim(),
        [nameof(JobsOptions.ExecMigrations)] = (o, k, v) => o.ExecMigrations = Bool(k, v),
        [nameof(JobsOptions.MaxJobsPerProcess)] = (o, k, v) => o.MaxJobsPerProcess = Int(k, v),
        [nameof(JobsOptions.MinJobsPerProcess)] = (o, k, v) => o.MinJobsPerProcess = Int(k, v),
        [nameof(JobsOptions.JobLostInterval)] = (o, k, v) => o.JobLostInterval = Duration(k, v),
        [nameof(JobsOptions.ShutdownTimeout)] = (o, k, v) => o.ShutdownTimeout = Duration(k, v),
        [nameof(JobsOptions.MaxPollInterval)] = (o, k, v) => o.MaxPollInterval = Duration(k, v),
        [nameof(JobsOptions.HistoryRetention)] = (o, k, v) => o.HistoryRetention = OptionalDuration(k, v),
        [nameof(JobsOptions.MembershipProbeTimeout)] = (o, k, v) => o.MembershipProbeTimeout = OptionalDuration(k, v),
        [nameof(JobsOptions.MembershipPauseTolerance)] = (o, k, v) => o.MembershipPauseTolerance = OptionalDuration(k, v),
        [nameof(JobsOptions.MaxConfigBytes)] = (o, k, v) => o.MaxConfigBytes = Int(k, v),
        [nameof(JobsOptions.UsePostgresClustering)] = (o, k, v) => o.UsePostgresClustering = Bool(k, v),
        [nameof(JobsOptions.StartPollingWithSilo)] = (o, k, v) => o.StartPollingWithSilo = Bool(k, v),
    };

    /// <summary>The keys the section may hold.</summary>
    public static IReadOnlyCollection<string> Keys => s_setters.Keys;

    /// <summary>Settings for an application that embeds the runtime in a silo of its own, which a
    /// worker host decides itself: it always clusters on Job's database and polls from its start
    /// (a worker that did not would start, answer its health checks, and run nothing).</summary>
    internal static readonly string[] EmbeddingOnly = [nameof(JobsOptions.UsePostgresClustering), nameof(JobsOptions.StartPollingWithSilo)];

    /// <summary>Applies every value of <paramref name="section"/> to <paramref name="options"/>.</summary>
    /// <exception cref="JobsConfigurationException">A key is unknown, or a value does not parse; the
    /// message names the key and what it expects.</exception>
    public static void Bind(IConfiguration section, JobsOptions options) => Bind(section, options, []);

    /// <summary>As <see cref="Bind(IConfiguration, JobsOptions)"/>, for a host that decides the
    /// <paramref name="hostDecides"/> settings itself: those are refused, and not offered as known.</summary>
    internal static void Bind(IConfiguration section, JobsOptions options, IReadOnlyCollection<string> hostDecides)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(options);
        var prefix = section is IConfigurationSection named ? named.Path + ":" : "";
        foreach (var child in section.GetChildren())
        {
            var key = prefix + child.Key;
            if (hostDecides.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw new JobsConfigurationException(
                    $"{key} is a setting for applications that run Job in a silo of their own (AddJobs), not for a worker: " +
                    "a worker always clusters on Job's database and runs jobs from its start.");
            }

            if (!s_setters.TryGetValue(child.Key, out var set))
            {
                var known = s_setters.Keys.Where(k => !hostDecides.Contains(k, StringComparer.OrdinalIgnoreCase)).Order(StringComparer.Ordinal);
                throw new JobsConfigurationException(
                    $"{key} is not a setting of Job (misspelled?). Known settings under {prefix.TrimEnd(':')}: {string.Join(", ", known)}.");
            }

            if (child.GetChildren().Any())
            {
                throw new JobsConfigurationException($"{key} takes a single value, not a section.");
            }

            set(options, key, child.Value ?? "");
        }
    }

    /// <summary>
    /// Reads a duration as configuration gives it: <c>00:00:05</c> (hh:mm:ss, with days as
    /// <c>d.hh:mm:ss</c>) or a number with its unit (<c>ms</c>, <c>s</c>, <c>m</c>, <c>h</c>, <c>d</c>).
    /// A bare number is refused: .NET would read <c>5</c> as five days.
    /// </summary>
    /// <returns>False when the text is not such a duration.</returns>
    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = default;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
        }

        var unitStart = text.Length;
        while (unitStart > 0 && char.IsAsciiLetter(text[unitStart - 1]))
        {
            unitStart--;
        }

        var multiplier = text[unitStart..].ToLowerInvariant() switch
        {
            "ms" => TimeSpan.TicksPerMillisecond,
            "s" => TimeSpan.TicksPerSecond,
            "m" or "min" => TimeSpan.TicksPerMinute,
            "h" => TimeSpan.TicksPerHour,
            "d" => TimeSpan.TicksPerDay,
            _ => 0,
        };
        if (multiplier == 0
            || !decimal.TryParse(text.AsSpan(0, unitStart), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || amount * multiplier > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        value = TimeSpan.FromTicks((long)(amount * multiplier));
        return true;
    }

    private static TimeSpan Duration(string key, string text) =>
        TryParseDuration(text, out var value)
            ? value
            : throw new JobsConfigurationException($"{key} must be a duration with its unit, such as 5s, 500ms, 2m, 1h, 7d or 00:00:05 (a bare number has no unit).");

    private static TimeSpan? OptionalDuration(string key, string text) =>
        string.IsNullOrWhiteSpace(text) ? null : Duration(key, text);

    private static int Int(string key, string text) =>
        int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new JobsConfigurationException($"{key} must be a whole number.");

    private static bool Bool(string key, string text) =>
        bool.TryParse(text.Trim(), out var value)
            ? value
            : throw new JobsConfigurationException($"{key} must be true or false.");
}

/// <summary>A configuration value for Job is missing, unknown or malformed. The message names the
/// key and never shows the value.</summary>
public sealed class JobsConfigurationException : JobException
{
    /// <summary>Creates the error.</summary>
    public JobsConfigurationException(string message) : base(message) { }
}
