using Job.Hosting;

namespace Job.Maintenance;

/// <summary>
/// Keeps the history of long-lived jobs within the retention. Pruning deletes finished jobs; a job that
/// never finishes (one that reschedules itself every minute writes two events a run, about a million a
/// year) would keep all of its history. So the leader walks the live jobs in id order, a window at a
/// time, and deletes their events older than the retention, except each job's provenance (initialized,
/// schedule_tick) and its last two executions. A job reads at most <see cref="PerJob"/> of its events per
/// statement, so a long history costs the same as a short one once trimmed; a window where some job may
/// hold more is taken again. A pass runs at most <see cref="WindowsPerPass"/> statements and the next
/// pass resumes where it stopped; once the walk has passed the last live job it rests (a tenth of the
/// retention, at most an hour) before it starts over.
/// </summary>
internal sealed class HistoryTrimmer(JobRuntime runtime)
{
    /// <summary>Live jobs looked at in one statement.</summary>
    internal const int Window = 1000;

    /// <summary>The oldest events of one job read in one statement.</summary>
    internal const int PerJob = 1000;

    /// <summary>Statements a pass runs at most.</summary>
    internal const int WindowsPerPass = 10;

    private static readonly TimeSpan s_longestRest = TimeSpan.FromHours(1);

    private Guid _after = Guid.Empty;
    private DateTimeOffset _restUntil = DateTimeOffset.MinValue;

    /// <summary>One pass at <paramref name="now"/> (application clock): deletes the events older than
    /// <paramref name="retention"/> and returns how many went. <paramref name="asked"/> runs it even
    /// while the walk rests.</summary>
    public async Task<int> TrimAsync(DateTimeOffset now, TimeSpan retention, bool asked, CancellationToken ct)
    {
        if (now < _restUntil && !asked)
        {
            return 0;
        }

        var before = now - retention;
        var total = 0;
        for (var i = 0; i < WindowsPerPass; i++)
        {
            var (last, deleted, more) = await runtime.Maintenance.TrimLiveHistoryAsync(before, _after, Window, PerJob, ct).ConfigureAwait(false);
            total += deleted;
            if (more)
            {
                continue; // the same window again: a job in it may hold more
            }

            // Ids are compared by PostgreSQL only (its order of uuids is not Guid.CompareTo's).
            _after = last ?? Guid.Empty;
            if (last is null)
            {
                var rest = retention / 10;
                _restUntil = now + (rest < s_longestRest ? rest : s_longestRest);
                break; // past the last live job: the walk starts over after its rest
            }
        }

        return total;
    }
}
