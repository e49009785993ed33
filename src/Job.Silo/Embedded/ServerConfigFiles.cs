using System.Globalization;
using System.Text;

namespace Job.Silo.Embedded;

/// <summary>The two files a start rewrites: the settings this class chooses (in an included file, so
/// postgresql.conf keeps its own) and pg_hba.conf.</summary>
internal static class ServerConfigFiles
{
    /// <summary>The file postgresql.conf includes; rewritten on every start, so a kept cluster picks up a new port.</summary>
    public const string IncludeFileName = "job_local.conf";

    /// <summary>The included file: listen addresses, port, socket, durability, then the caller's own settings,
    /// which win. Written as a file rather than pg_ctl -o, which would need shell quoting.</summary>
    public static string Settings(LocalPostgresOptions options, int port, string socketDir)
    {
        var listen = string.Join(",", options.ExtraListenAddresses.Select(a => a.Address).Prepend("127.0.0.1"));
        var settings = new List<KeyValuePair<string, string>>
        {
            new("listen_addresses", listen),
            new("port", port.ToString(CultureInfo.InvariantCulture)),
            new("unix_socket_directories", socketDir),
            new("fsync", options.Fsync ? "on" : "off"),
        };
        if (!options.Fsync)
        {
            settings.Add(new("synchronous_commit", "off"));
            settings.Add(new("full_page_writes", "off"));
        }

        settings.AddRange(options.ServerSettings);

        var sb = new StringBuilder("# Written by Job.Silo.Embedded.LocalPostgres on every start; edits are overwritten.\n");
        foreach (var (key, value) in settings)
        {
            sb.Append(key).Append(" = '").Append(value.Replace("'", "''", StringComparison.Ordinal)).Append("'\n");
        }


        return sb.ToString();
    }

    /// <summary>pg_hba.conf, rewritten on every start like the settings. The superuser keeps trust on loopback and
    /// the socket (administration, creating test databases); with <see cref="LocalPostgresOptions.PasswordAuthentication"/>
    /// every other role must give a password, and nobody is trusted from the extra networks.</summary>
    public static string HostBasedAuthentication(LocalPostgresOptions options)
    {
        var others = options.PasswordAuthentication ? "scram-sha-256" : "trust";
        var sb = new StringBuilder("# Written by Job.Silo.Embedded.LocalPostgres on every start; edits are overwritten.\n");
        sb.Append("local all ").Append(LocalPostgres.PostgresUser).Append(" trust\n");
        sb.Append("host all ").Append(LocalPostgres.PostgresUser).Append(" 127.0.0.1/32 trust\n");
        sb.Append("host all ").Append(LocalPostgres.PostgresUser).Append(" ::1/128 trust\n");
        sb.Append("local all all ").Append(others).Append('\n');
        sb.Append("host all all 127.0.0.1/32 ").Append(others).Append('\n');
        sb.Append("host all all ::1/128 ").Append(others).Append('\n');
        foreach (var (_, network) in options.ExtraListenAddresses)
        {
            sb.Append("host all all ").Append(network).Append(" scram-sha-256\n");
        }

        return sb.ToString();
    }
}
