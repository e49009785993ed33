using Job.Claims;

namespace Job.Execution;

/// <summary>
/// One run's cancellation: its token fires at shutdown (the executor fires every listed run's) or when
/// an operator cancels the job, and whoever gives up on the run (shutdown after its timeout, a cancel
/// the runner ignored) does so once, so the run's outcome is written once. The token source is the
/// run's own, not linked to the silo's shutdown token: linking registers and unregisters on one shared
/// source per run, a lock every runner contends on.
/// </summary>
internal sealed class RunControl : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationToken _shutdown;
    private int _cancelRequested;
    private int _gaveUp;

    public RunControl(ClaimedJob claim, CancellationToken shutdown)
    {
        Claim = claim;
        _shutdown = shutdown;
        _cancel = new CancellationTokenSource();
    }

    public ClaimedJob Claim { get; }

    /// <summary>The runner's token.</summary>
    public CancellationToken Token => _cancel.Token;

    public bool CancelRequested => Volatile.Read(ref _cancelRequested) == 1;

    public bool ShuttingDown => _shutdown.IsCancellationRequested;

    /// <summary>The silo stops: fires the token.</summary>
    public void Shutdown()
    {
        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run just ended.
        }
    }

    /// <summary>Fires the token for an operator's cancel; true the first time.</summary>
    public bool RequestCancel()
    {
        if (Interlocked.Exchange(ref _cancelRequested, 1) == 1)
        {
            return false;
        }

        try
        {
            _cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run just ended.
        }

        return true;
    }

    /// <summary>Decides whose outcome is written: the run's own when it returns, or that of whoever
    /// gives up on it (shutdown after its timeout, a cancel the runner ignored). True for the one
    /// caller that decides first; the other's outcome is dropped.</summary>
    public bool TryDecide() => Interlocked.Exchange(ref _gaveUp, 1) == 0;

    public void Dispose() => _cancel.Dispose();
}
