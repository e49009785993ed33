using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Job;

/// <summary>
/// The cluster-wide limits a job type declares in code (<c>IJobInitializer.Limits</c>, or
/// <c>services.AddJobInitializer&lt;T&gt;(limits =&gt; …)</c>), applied when a silo starts. The latest
/// change wins: a silo that starts with the same declaration as the last one applied leaves a run-time
/// change (<see cref="JobFlowControl"/>) alone; a deploy that changes the declaration applies it; a
/// declaration removed from code lifts the limits it had set. Pausing is never declared: it is an
/// operator's act, and no deploy undoes it.
/// </summary>
public sealed class JobTypeLimits
{
    /// <summary>At most this many jobs of the type run at once across the cluster; null: no limit.</summary>
    public int? MaxRunning { get; set; }

    /// <summary>At most so many jobs of the type start per period across the cluster; null: no limit.</summary>
    public JobRateLimit? RateLimit { get; set; }

    /// <summary>True when no limit is set (the same as declaring none).</summary>
    public bool IsEmpty => MaxRunning is null && RateLimit is null;

    /// <exception cref="ArgumentOutOfRangeException"><see cref="MaxRunning"/> is not 1 to <see cref="JobFlowControl.MaxLimit"/>.</exception>
    internal void Validate(JobType jobType)
    {
        if (MaxRunning is < 1 or > JobFlowControl.MaxLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRunning), MaxRunning,
                $"Job type '{jobType}' declares MaxRunning {MaxRunning}; a concurrency limit is 1 to {JobFlowControl.MaxLimit:N0} (null: none).");
        }
    }

    /// <summary>SHA-256 of the limits: equal declarations, equal hashes, on every silo.</summary>
    internal string Hash() => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
        $"max_running={MaxRunning};rate={RateLimit?.Starts}/{RateLimit?.Period.Ticks}"))));

    /// <summary>A copy, so a declaration cannot change after it was registered.</summary>
    internal JobTypeLimits Copy() => new() { MaxRunning = MaxRunning, RateLimit = RateLimit };

    /// <inheritdoc />
    public override string ToString() => $"MaxRunning={MaxRunning?.ToString(CultureInfo.InvariantCulture) ?? "none"}, RateLimit={RateLimit?.ToString() ?? "none"}";
}
