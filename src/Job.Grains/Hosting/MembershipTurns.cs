using System.Diagnostics;
using Job.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Runtime;

namespace Job.Hosting;

/// <summary>
/// The silos of one cluster write their membership status changes one at a time.
/// <para>
/// Orleans writes a silo's status (joining, active, shutting down, dead) as a read of the membership
/// table and a write conditioned on the table's version. When two silos write at once one write
/// loses, and Orleans tries it again only after 2–4 s: a backoff fixed in its
/// <c>MembershipTableManager</c>, not an option. Replicas started together (a first deploy, a
/// scale-out) lost that race in about one start in three, and the loser became ready seconds after
/// its peers; replicas stopped together lost it as often, and took seconds longer to stop.
/// </para>
/// <para>
/// So around each of those four writes a silo of Job's clustering holds the cluster's lock in
/// PostgreSQL (<see cref="MembershipLock"/>), and the other silos wait their turn: the read and the
/// write of one silo take milliseconds. The lock changes nothing in Orleans' protocol (every write is
/// still conditioned on the version), so a silo that does not wait its turn (a previous release during
/// a rolling deploy, a write this silo makes for another reason) is still safe, only slower when it
/// loses. The wait is bounded by Orleans' own first backoff: past it, or when the database cannot be
/// reached, the silo writes without its turn, as it would without Job. A process that dies in its turn
/// releases the lock with its connection; a holder whose host is gone without closing it is cut off by
/// PostgreSQL after <see cref="SilentHolder"/>.
/// </para>
/// </summary>
internal sealed partial class MembershipTurns(
    JobRuntime runtime,
    JobSiloLifecycle jobs,
    IOptions<ClusterOptions> cluster,
    ILogger<MembershipTurns> logger) : ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    /// <summary>The longest wait for a turn: Orleans' shortest backoff after a lost write.</summary>
    internal static readonly TimeSpan Wait = TimeSpan.FromSeconds(2);

    /// <summary>How long a holder may send nothing before PostgreSQL ends its session. A turn spans one
    /// read and one write, and Orleans' gossip of the change (3 s at most).</summary>
    internal static readonly TimeSpan SilentHolder = TimeSpan.FromSeconds(15);

    private MembershipLock? _turn;

    public void Participate(ISiloLifecycle lifecycle)
    {
        const string name = nameof(MembershipTurns);
        static Task None(CancellationToken _) => Task.CompletedTask;

        // Starting. Orleans writes Joining at AfterRuntimeGrainServices and Active at BecomeActive.
        lifecycle.Subscribe(name, ServiceLifecycleStage.AfterRuntimeGrainServices - 1, ct => TakeAsync(SiloStatus.Joining, ct), _ => ReleaseAsync());
        lifecycle.Subscribe(name, ServiceLifecycleStage.AfterRuntimeGrainServices + 1, _ => ReleaseAsync(), None);
        lifecycle.Subscribe(name, ServiceLifecycleStage.BecomeActive - 1, ct => TakeAsync(SiloStatus.Active, ct), _ => ReleaseAsync());

        // Stopping runs the stages from the last. ShuttingDown is written at BecomeActive, after the
        // runtime's own stop at Active (the jobs' hand-back, which takes seconds: not in a turn), and
        // Dead at RuntimeInitialize + 1.
        lifecycle.Subscribe(name, ServiceLifecycleStage.Active, _ => ReleaseAsync(), async ct =>
        {
            await jobs.ShutdownAsync().ConfigureAwait(false);
            await TakeAsync(SiloStatus.ShuttingDown, ct).ConfigureAwait(false);
        });
        lifecycle.Subscribe(name, ServiceLifecycleStage.RuntimeInitialize + 2, None, ct => TakeAsync(SiloStatus.Dead, ct));
        lifecycle.Subscribe(name, ServiceLifecycleStage.RuntimeInitialize, None, _ => ReleaseAsync());
    }

    public ValueTask DisposeAsync() => new(ReleaseAsync());

    /// <summary>The lock's name: one per cluster and schema (two Job installations may share a database).</summary>
    internal static string LockKey(string schema, string clusterId) => $"job-membership:{schema}:{clusterId}";

    private async Task TakeAsync(SiloStatus status, CancellationToken ct)
    {
        await ReleaseAsync().ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        // PostgreSQL cuts the wait for the lock; this bounds the rest (opening a connection included).
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bound.CancelAfter(Wait * 2);
        try
        {
            var key = LockKey(runtime.Context.Schema.Name, cluster.Value.ClusterId);
            _turn = await MembershipLock.TakeAsync(runtime.Database, key, Wait, SilentHolder, bound.Token).ConfigureAwait(false);
            LogTurn(status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
        {
            // The turn only spares a lost write's backoff: without it, Orleans' protocol is as safe.
            LogNoTurn(status, Stopwatch.GetElapsedTime(started).TotalMilliseconds, ex.Message);
        }
    }

    private async Task ReleaseAsync()
    {
        if (Interlocked.Exchange(ref _turn, null) is { } turn)
        {
            await turn.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Membership turn to write {Status} taken after {WaitedMs:0.0} ms.")]
    private partial void LogTurn(SiloStatus status, double waitedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Writing membership status {Status} without waiting for the cluster's turn (gave up after {WaitedMs:0} ms: {Reason}); Orleans retries it if another silo's write wins.")]
    private partial void LogNoTurn(SiloStatus status, double waitedMs, string reason);
}
