namespace Job.Common;

/// <summary>
/// An input error's message as an operator reads it, in the CLI or the dashboard: on one line, and
/// without the " (Parameter 'x')" that .NET appends for a method's parameter, since the operator gave
/// an option or a form field, not a parameter.
/// </summary>
internal static class InputErrorText
{
    public static string Of(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = exception is ArgumentException { ParamName: { } name }
            ? exception.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal)
            : exception.Message;
        return message.ReplaceLineEndings(" ");
    }
}
