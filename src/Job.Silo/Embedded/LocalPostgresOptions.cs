namespace Job.Silo.Embedded;

/// <summary>
/// Settings for <see cref="LocalPostgres.StartAsync"/>. The defaults suit a throwaway server; the demo cluster
/// sets <see cref="DataDirectory"/> and <see cref="KeepData"/> so its data survives restarts.
/// </summary>
public sealed class LocalPostgresOptions
{
    /// <summary>
    /// Folder owned entirely by this server: it holds <c>pgdata/</c> (the cluster), <c>run/</c> (the Unix socket)
    /// and <c>postgres.log</c>. <c>null</c> creates a fresh folder under /tmp so that the <c>postgres</c> system
    /// user can reach it when we run as root. Unless <see cref="KeepData"/> is set the folder must be empty or
    /// missing, because it is deleted on dispose.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// TCP port on 127.0.0.1. 0 picks a free one (and retries with another port if someone grabs it first), which
    /// is what tests want because other servers may share the machine.
    /// </summary>
    public int Port { get; set; }

    /// <summary>
    /// <c>false</c> trades durability for speed (fsync, synchronous_commit and full_page_writes off,
    /// initdb --no-sync): right for tests whose data is disposable, wrong for anything you want to keep.
    /// </summary>
    public bool Fsync { get; set; } = true;

    /// <summary>
    /// Reuse an already initialized cluster in <see cref="DataDirectory"/> and never delete it, so a demo cluster
    /// keeps its jobs across restarts.
    /// </summary>
    public bool KeepData { get; set; }

    /// <summary>
    /// Extra postgresql.conf settings (for example <c>max_connections</c>, <c>shared_buffers</c>). They are applied
    /// last, so they win over the settings this class chooses.
    /// </summary>
    public IDictionary<string, string> ServerSettings { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Folder with initdb/pg_ctl/postgres, overriding discovery (JOB_PG_BIN, pg_config, /usr/lib/postgresql, PATH)
    /// for machines with several PostgreSQL versions.
    /// </summary>
    public string? BinDirectory { get; set; }

    /// <summary>
    /// Require a password (scram-sha-256) from every role but the superuser, which keeps trust on this
    /// machine's loopback and socket for administration. Tests turn this on so every connection path
    /// is tried against a server that checks passwords, as production servers do; create such roles
    /// with <see cref="LocalPostgres.CreateRoleAsync"/>.
    /// </summary>
    public bool PasswordAuthentication { get; set; }

    /// <summary>
    /// More addresses to listen on besides 127.0.0.1 (for example a test's virtual network), each
    /// with a CIDR that may connect from there: <c>("10.77.0.1", "10.77.0.0/24")</c>. Roles other than
    /// the superuser must give a password from these networks when <see cref="PasswordAuthentication"/>
    /// is on; the superuser is never trusted from them.
    /// </summary>
    public IList<(string Address, string AllowedNetwork)> ExtraListenAddresses { get; set; } = [];

    /// <summary>How long to wait for the server to accept connections before giving up with the log tail.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Starts a small detached watchdog that stops the server (and deletes a non-kept folder) if this process dies
    /// without disposing it, e.g. on SIGKILL or a crashed test host, so no orphan server keeps running.
    /// </summary>
    public bool StopWithOwnerProcess { get; set; } = true;
}

/// <summary>A login role that owns a database, and the password it logs in with.</summary>
/// <param name="Role">The role (a plain identifier).</param>
/// <param name="Password">Its password.</param>
public readonly record struct DatabaseOwner(string Role, string Password);
