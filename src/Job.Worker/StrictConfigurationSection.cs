using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Job.Worker;

/// <summary>
/// Binds one configuration section onto an options object, strictly, as
/// <see cref="JobsConfigurationBinder"/> does for <c>Jobs</c>: a key the section does not know is an
/// error naming it (a misspelled setting must not be ignored in silence), and errors never show the
/// value, which may be a secret given by mistake. An empty value keeps the default. The worker's own
/// sections use it; a worker's own settings can too.
/// </summary>
/// <typeparam name="T">The options type.</typeparam>
public sealed class StrictConfigurationSection<T>
    where T : class
{
    private readonly string _name;
    private readonly Dictionary<string, Action<T, string, string>> _setters;

    /// <summary>Creates the binder for section <paramref name="name"/>.</summary>
    /// <param name="name">The section, e.g. <c>Orleans</c>.</param>
    /// <param name="setters">For each key, how to apply its value: <c>(options, key, value)</c>; throw
    /// <see cref="JobsConfigurationException"/> naming the key (never the value) when it does not parse.</param>
    public StrictConfigurationSection(string name, IReadOnlyDictionary<string, Action<T, string, string>> setters)
    {
        _name = name;
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(setters);
        _setters = new Dictionary<string, Action<T, string, string>>(setters, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>The section's name, e.g. <c>Orleans</c>.</summary>
    public string Name => _name;

    /// <summary>The keys the section may hold.</summary>
    public IReadOnlyCollection<string> Keys => _setters.Keys;

    /// <summary>Applies every value of the section of <paramref name="configuration"/> to <paramref name="options"/>.</summary>
    /// <exception cref="JobsConfigurationException">A key is unknown or a value does not parse.</exception>
    public void Bind(IConfiguration configuration, T options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        foreach (var child in configuration.GetSection(_name).GetChildren())
        {
            var key = _name + ":" + child.Key;
            if (!_setters.TryGetValue(child.Key, out var set))
            {
                throw new JobsConfigurationException(
                    $"{key} is not a setting of Job (misspelled?). Known settings under {_name}: {string.Join(", ", _setters.Keys.Order(StringComparer.Ordinal))}.");
            }

            if (child.GetChildren().Any())
            {
                throw new JobsConfigurationException($"{key} takes a single value, not a section.");
            }

            if (!string.IsNullOrWhiteSpace(child.Value))
            {
                set(options, key, child.Value.Trim());
            }
        }
    }

    /// <summary>Reads a whole number.</summary>
    public static int Int(string key, string text) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new JobsConfigurationException($"{key} must be a whole number.");

    /// <summary>Reads true or false.</summary>
    public static bool Bool(string key, string text) =>
        bool.TryParse(text, out var value)
            ? value
            : throw new JobsConfigurationException($"{key} must be true or false.");
}
