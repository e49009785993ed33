using System.Runtime.InteropServices;

namespace Job.Silo.Commands;

/// <summary>
/// Ctrl-C / SIGTERM before the host runs (while an embedded PostgreSQL starts, while migrations run):
/// cancel what is in progress. Once the host runs, <see cref="Release"/> hands the signals to its
/// console lifetime, which stops gracefully.
/// </summary>
internal sealed class ShutdownSignals : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly List<PosixSignalRegistration> _registrations;

    public ShutdownSignals()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    public CancellationToken Token => _cts.Token;

    public void Release()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _registrations.Clear();
    }

    public void Dispose()
    {
        Release();
        _cts.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _cts.Cancel();
    }
}
