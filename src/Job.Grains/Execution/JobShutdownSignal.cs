namespace Job.Execution;

/// <summary>The silo-wide "shutting down" signal handed to every running job as its cancellation token.</summary>
internal sealed class JobShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _source = new();

    public CancellationToken Token => _source.Token;

    public void Signal() => _source.Cancel();

    public void Dispose() => _source.Dispose();
}
