namespace Job;

/// <summary>
/// The base of every error this library raises on purpose, so callers can catch the library's
/// errors apart from their own and from infrastructure failures (Npgsql, Orleans).
/// </summary>
[GenerateSerializer]
public class JobException : Exception
{
    /// <summary>Creates the error with a message.</summary>
    public JobException(string message) : base(message) { }

    /// <summary>Creates the error with a message and the failure that caused it.</summary>
    public JobException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>A spawn used an id that an existing job already has. Nothing was written.</summary>
[GenerateSerializer]
public sealed class DuplicateJobIdException : JobException
{
    /// <summary>Creates the error for the id that was taken.</summary>
    public DuplicateJobIdException(JobId id)
        : base($"A job with id {id} already exists; job ids are unique, pick a new one (JobId.New()).") => Id = id;

    /// <summary>The id that was already taken.</summary>
    [Id(0)] public JobId Id { get; private set; }
}

/// <summary>A job type name failed validation (see <see cref="JobType"/>).</summary>
[GenerateSerializer]
public sealed class InvalidJobTypeException : JobException
{
    /// <summary>Creates the error for the rejected name and the reason.</summary>
    public InvalidJobTypeException(string? name, string problem)
        : base($"'{name}' is not a valid job type: {problem}.") => Name = name;

    /// <summary>The rejected name.</summary>
    [Id(0)] public string? Name { get; private set; }
}

/// <summary>A job's configuration could not be used: it is not valid JSON, does not fit the job type's
/// config type, or is larger than the configured limit. Nothing was written.</summary>
[GenerateSerializer]
public sealed class InvalidJobConfigException : JobException
{
    /// <summary>Creates the error with a message naming what is wrong.</summary>
    public InvalidJobConfigException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>No job has this id.</summary>
[GenerateSerializer]
public sealed class JobNotFoundException : JobException
{
    /// <summary>Creates the error for the unknown id.</summary>
    public JobNotFoundException(JobId id) : base($"No job with id {id} exists.") => Id = id;

    /// <summary>The id that was looked up.</summary>
    [Id(0)] public JobId Id { get; private set; }
}

/// <summary>Awaiting a job's completion took longer than the caller allowed. The job itself is unaffected.</summary>
[GenerateSerializer]
public sealed class JobAwaitTimeoutException : JobException
{
    /// <summary>Creates the error for the job and the time waited.</summary>
    public JobAwaitTimeoutException(JobId id, TimeSpan waited)
        : base($"Job {id} did not finish within {waited}.") => Id = id;

    /// <summary>The job that was awaited.</summary>
    [Id(0)] public JobId Id { get; private set; }
}

/// <summary>
/// An admin operation does not apply to the job in its current state (retrying a running or
/// completed job, cancelling a finished one, deleting a live one). Nothing was written; the job's
/// state is named so the caller can say why.
/// </summary>
[GenerateSerializer]
public sealed class JobStateConflictException : JobException
{
    /// <summary>Creates the error for the job, the operation and the state it met.</summary>
    public JobStateConflictException(JobId id, string operation, string state)
        : base($"Cannot {operation} job {id}: it is {state}.")
    {
        Id = id;
        Operation = operation;
        State = state;
    }

    /// <summary>The job.</summary>
    [Id(0)] public JobId Id { get; private set; }

    /// <summary>The operation refused: retry, cancel or delete.</summary>
    [Id(1)] public string Operation { get; private set; }

    /// <summary>The job's state as stored: scheduled, pending, parked, running, completed, errored or cancelled.</summary>
    [Id(2)] public string State { get; private set; }
}
