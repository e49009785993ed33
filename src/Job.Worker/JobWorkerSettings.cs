using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Job.Worker;

/// <summary>
/// Settings given on a worker's command line as <c>--Key=Value</c> (<c>--Orleans:SiloPort=11112</c>).
/// Stricter than .NET's command-line provider on purpose: that provider also reads <c>--Key Value</c>,
/// so a key whose value was forgotten takes the next argument as its value, and a connection string
/// meant for another setting ends up where errors may print it. Here every setting carries its
/// <c>=</c>, and errors name the key, never a value.
/// </summary>
public static partial class JobWorkerSettings
{
    /// <summary>Reads <paramref name="args"/>, each of which must be a <c>--Key=Value</c> setting.</summary>
    /// <returns>The settings, in configuration form (<c>Orleans:SiloPort</c>); later ones win.</returns>
    /// <exception cref="JobWorkerUsageException">An argument is not a <c>--Key=Value</c> setting.</exception>
    public static IReadOnlyDictionary<string, string?> Parse(IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var position = 0;
        foreach (var arg in args)
        {
            position++;
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new JobWorkerUsageException($"argument {position} is not a setting: settings are given as --Key=Value");
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var key = (equals < 0 ? arg[2..] : arg[2..equals]).Replace("__", ":", StringComparison.Ordinal);
            if (!KeyPattern().IsMatch(key))
            {
                throw new JobWorkerUsageException($"argument {position} is not a setting: settings are given as --Key=Value");
            }

            if (equals < 0)
            {
                throw new JobWorkerUsageException($"--{key} has no value: settings are given as --Key=Value, and nothing after it is taken as its value");
            }

            settings[key] = arg[(equals + 1)..];
        }

        return settings;
    }

    /// <summary>Adds the settings in <paramref name="args"/> (see <see cref="Parse"/>) as the
    /// configuration source with the highest precedence, as .NET's command-line provider would be.</summary>
    /// <exception cref="JobWorkerUsageException">An argument is not a <c>--Key=Value</c> setting.</exception>
    public static IConfigurationBuilder AddJobWorkerSettings(this IConfigurationBuilder configuration, IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.AddInMemoryCollection(Parse(args));
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,199}$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyPattern();
}

/// <summary>The command line is malformed (a usage error: exit code 2). The message never shows a value.</summary>
public sealed class JobWorkerUsageException : JobException
{
    /// <summary>Creates the error.</summary>
    public JobWorkerUsageException(string message) : base(message) { }
}
