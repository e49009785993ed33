namespace Job.Worker;

/// <summary>
/// A worker cannot start, for a reason its message states in one line that the operator can act on
/// (a port in use, an unreachable database). The message never holds a connection string.
/// </summary>
public sealed class JobWorkerStartupException : JobException
{
    /// <summary>Creates the error.</summary>
    public JobWorkerStartupException(string message) : base(message) { }

    /// <summary>Creates the error with its cause.</summary>
    public JobWorkerStartupException(string message, Exception innerException) : base(message, innerException) { }
}
