using Job.Hosting;

namespace Job.Maintenance;

/// <summary>
/// Keeps the history of long-lived jobs within the retention. Pruning deletes finished jobs; a job that
/// never finishes (one that reschedules itself every minute writes two events a run, about 1 M a year)
/// would keep all of its history. So the leader walks the live jobs in id order, a window at a time,
/// and deletes their events older than the retention, except each job's first event and its current
/// execution's. The walk resumes where the last pass stopped and starts over past the last live job:
/// each pass costs at most <see cref="WindowsPerPass"/> windows, however many jobs are live.
/// </summary>
internal sealed class HistoryTrimmer(JobRuntime runtime)
{
    /// <summary>Live jobs looked at in one statement.</summary>
    internal const int Window = 1000;

    /// <summary>Events deleted in one statement at most; a window with more is taken again.</summary>
    internal const int EventLimit = 5000;

    /// <summary>Statements a pass runs at most.</summary>
    internal const int WindowsPerPass = 10;

    private Guid _after = Guid.Empty;

    /// <summary>One pass: deletes the events recorded before <paramref name="before"/> and returns how many went.</summary>
    public async Task<int> TrimAsync(DateTimeOffset before, CancellationToken ct)
    {
        var total = 0;
        for (var i = 0; i < WindowsPerPass; i++)
        {
            var (last, deleted) = await runtime.Maintenance.TrimLiveHistoryAsync(before, _after, Window, EventLimit, ct).ConfigureAwait(false);
            total += deleted;
            if (deleted == EventLimit)
            {
                continue; // the same window again: it may hold more
            }

            // Ids are compared by PostgreSQL only (its order of uuids is not Guid.CompareTo's).
            _after = last ?? Guid.Empty;
            if (last is null)
            {
                break; // past the last live job: the next pass starts over
            }
        }

        return total;
    }
}
