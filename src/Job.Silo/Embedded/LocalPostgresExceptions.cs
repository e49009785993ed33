using System.Text;

namespace Job.Silo.Embedded;

/// <summary>
/// Raised when no PostgreSQL server binaries can be found, so the user is told what to install instead of
/// seeing a bare "file not found".
/// </summary>
public sealed class PostgresNotInstalledException : Exception
{
    /// <summary>Creates the exception with installation instructions.</summary>
    public PostgresNotInstalledException()
        : this(Array.Empty<string>())
    {
    }

    /// <summary>Creates the exception with a custom message.</summary>
    public PostgresNotInstalledException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a custom message and cause.</summary>
    public PostgresNotInstalledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception listing the places that were searched, to make a wrong setup obvious.</summary>
    public PostgresNotInstalledException(IEnumerable<string> searched)
        : base(BuildMessage(searched))
    {
    }

    private static string BuildMessage(IEnumerable<string> searched)
    {
        var sb = new StringBuilder();
        sb.Append("PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install the PostgreSQL server: ");
        sb.Append("on Debian/Ubuntu run 'sudo apt-get install postgresql' (binaries land in /usr/lib/postgresql/<version>/bin); ");
        sb.Append("on Fedora/RHEL 'sudo dnf install postgresql-server'; on macOS 'brew install postgresql'. ");
        sb.Append("Or set JOB_PG_BIN to the folder that contains initdb, pg_ctl and postgres.");
        var list = searched.ToList();
        if (list.Count > 0)
        {
            sb.Append(" Searched: ").Append(string.Join(", ", list)).Append('.');
        }

        return sb.ToString();
    }
}

/// <summary>
/// Raised when initdb or the server fails; the message carries the tool output and the tail of the server log
/// because that is where the actual reason (port in use, bad setting, permissions) is.
/// </summary>
public sealed class LocalPostgresException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LocalPostgresException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public LocalPostgresException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public LocalPostgresException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
