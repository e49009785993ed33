using Npgsql;

namespace Job.Storage;

/// <summary>
/// The two pools a process reaches Job's database through. Job's own statements run on a pool whose
/// connections go back without a session reset (Npgsql's <c>No Reset On Close</c>): none of them leaves
/// session state behind (settings are transaction-local, advisory locks transaction-scoped), and the
/// reset Npgsql otherwise sends ahead of a checkout's first command (seven statements, since Job's
/// statements are prepared) cost about 0.2 ms of every checkout's round trip: a pooled
/// <c>SELECT 1</c> took 0.45 ms at p50 with it and 0.15 ms without. A spawn and a claim are each one
/// checkout, on the path from spawn to start. Connections that may hold session state come from a
/// second pool, reset as usual: the notification listener's (LISTEN) and the job code's own
/// (<c>CurrentJob.DataSource</c>), whose <c>SET</c>s and session locks must not outlive it. An
/// application's own data source is used for both, as the application configured it.
/// </summary>
internal sealed class JobDataSources : IAsyncDisposable
{
    private readonly bool _owned;

    private JobDataSources(NpgsqlDataSource statements, NpgsqlDataSource sessions, bool owned)
    {
        Statements = statements;
        Sessions = sessions;
        _owned = owned;
    }

    /// <summary>Job's own statements: prepared (planning costs more than running most of them) and
    /// not reset between checkouts, unless the connection string says otherwise.</summary>
    public NpgsqlDataSource Statements { get; }

    /// <summary>Connections that keep session state while they are out: reset when they go back.</summary>
    public NpgsqlDataSource Sessions { get; }

    /// <summary>Both pools, built (and owned) here from a connection string.</summary>
    private static JobDataSources Create(string connectionString)
    {
        var statements = new NpgsqlDataSourceBuilder(connectionString);
        var settings = statements.ConnectionStringBuilder;
        if (settings.MaxAutoPrepare == 0)
        {
            settings.MaxAutoPrepare = 32;
            settings.AutoPrepareMinUsages = 2;
        }

        // Keys lists only what the connection string set (ContainsKey answers for every keyword Npgsql knows).
        if (!settings.Keys.Cast<string>().Contains("No Reset On Close"))
        {
            settings.NoResetOnClose = true;
        }

        return new JobDataSources(statements.Build(), NpgsqlDataSource.Create(connectionString), owned: true);
    }

    /// <summary>The application's data source for both, as it is (not disposed here).</summary>
    private static JobDataSources Of(NpgsqlDataSource application) => new(application, application, owned: false);

    /// <summary>What the options name: the application's own data source when it gave one, else both
    /// pools built from its connection string (the options' validation requires one of the two).</summary>
    public static JobDataSources For(NpgsqlDataSource? application, string? connectionString) =>
        application is not null ? Of(application) : Create(connectionString!);

    public async ValueTask DisposeAsync()
    {
        if (_owned)
        {
            await Statements.DisposeAsync().ConfigureAwait(false);
            await Sessions.DisposeAsync().ConfigureAwait(false);
        }
    }
}
