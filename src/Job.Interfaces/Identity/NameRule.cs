namespace Job;

/// <summary>
/// The one naming rule of Job's identifiers that operators type and URLs carry (job types, schedule
/// names): ASCII letters and digits first, then also <c>- _ . : /</c>, up to a length. One rule, so a
/// tenant's name that is a valid job type is also a valid schedule name, and every layer (client,
/// grain, dashboard, CLI) refuses the same names with the same words.
/// </summary>
public static class NameRule
{
    /// <summary>What is wrong with <paramref name="name"/> (a phrase to follow "is not valid:"), or null when it is valid.</summary>
    public static string? Problem(string? name, int maxLength)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "it is empty";
        }

        if (name.Length > maxLength)
        {
            return $"it is {name.Length} characters long, more than {maxLength}";
        }

        if (!char.IsAsciiLetterOrDigit(name[0]))
        {
            return "it must start with an ASCII letter or digit";
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':' or '/'))
            {
                return $"it contains '{c}'; allowed are ASCII letters, digits and - _ . : /";
            }
        }

        return null;
    }
}
