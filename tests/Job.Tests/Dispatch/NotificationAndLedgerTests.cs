using Job.Claims;
using Job.Notifications;

namespace Job.Tests.Dispatch;

public sealed class NotificationAndLedgerTests
{
    [Fact]
    public void Times_in_payloads_are_unix_microseconds()
    {
        var at = new DateTimeOffset(2026, 11, 28, 21, 30, 15, 123, TimeSpan.Zero).AddTicks(4560); // 123.456 ms
        Assert.Equal(at, JobNotifications.ParseMicros("1795901415123456")); // what extract(epoch …) * 1000000 writes
        Assert.Null(JobNotifications.ParseMicros(null));
        Assert.Null(JobNotifications.ParseMicros("not-a-time"));
        Assert.Null(JobNotifications.ParseMicros("999999999999999999")); // beyond DateTimeOffset
        Assert.Null(JobNotifications.ParseMicros("-1"));
    }

    [Fact]
    public void Without_a_lookahead_the_window_is_max_and_a_freed_runner_is_refilled_at_once()
    {
        // Long jobs (or none seen yet): nothing waits in this silo's buffer that another silo could run.
        var ledger = Ledger(max: 16, min: 8, lookahead: 0);
        Assert.Equal(16, ledger.NextClaimSize());
        var claims = Hold(ledger, claimed: 16, started: 16);
        Assert.Equal(0, ledger.NextClaimSize());
        Assert.False(ledger.RoomFreed.WaitTask.IsCompleted);
        ledger.RunEnded(claims[0]);
        Assert.True(ledger.RoomFreed.WaitTask.IsCompleted); // not after Max − Min of them: a free runner is not left idle
        Assert.Equal(1, ledger.NextClaimSize());
    }

    [Fact]
    public void A_short_lookahead_is_refilled_once_half_of_it_is_free()
    {
        var ledger = Ledger(max: 16, min: 8, lookahead: 6);
        Assert.Equal(22, ledger.NextClaimSize());
        var claims = Hold(ledger, claimed: 22, started: 16);

        ledger.RunEnded(claims[0]);
        ledger.RunEnded(claims[1]);
        Assert.Equal(0, ledger.NextClaimSize()); // 2 free: the buffer still holds 6 for the runners
        ledger.RunEnded(claims[2]);
        Assert.Equal(3, ledger.NextClaimSize());

        ledger.SetLookahead(-5); // runs stopped ending: the window shrinks to the runners
        Assert.Equal(0, ledger.NextClaimSize()); // 13 executing + 6 buffered already exceed 16
    }

    [Fact]
    public void A_lookahead_of_max_or_more_claims_again_once_max_minus_min_is_free()
    {
        var ledger = Ledger(max: 16, min: 8, lookahead: 16);
        Assert.Equal(32, ledger.NextClaimSize());
        var claims = Hold(ledger, claimed: 32, started: 16);
        Assert.Equal(0, ledger.NextClaimSize());

        Assert.Equal(16, ledger.Executing);
        for (var i = 0; i < 7; i++)
        {
            ledger.RunEnded(claims[i]);
        }

        Assert.Equal(0, ledger.NextClaimSize()); // 7 free: below the threshold of 8
        Assert.False(ledger.RoomFreed.WaitTask.IsCompleted);
        ledger.RunEnded(claims[7]);
        Assert.True(ledger.RoomFreed.WaitTask.IsCompleted);
        Assert.Equal(8, ledger.NextClaimSize()); // completing claims hold no room
        Assert.Equal(32, ledger.Count); // but are still held (heartbeat, hand-back)

        ledger.SetLookahead(10_000); // capped at Max + MaxExtraLookahead beyond the runners
        Assert.Equal(16 + 16 + ClaimLedger.MaxExtraLookahead - 24, ledger.NextClaimSize());
    }

    [Fact]
    public void A_stale_run_and_the_new_claim_of_the_same_job_are_separate_entries()
    {
        var ledger = new ClaimLedger(new JobsOptions { MaxJobsPerProcess = 2, MinJobsPerProcess = 2 });
        var id = JobId.New();
        var stale = Claim(id, token: 1);
        var fresh = Claim(id, token: 2);
        ledger.Add([stale, fresh]);

        Assert.True(ledger.TryStart(stale));
        Assert.False(ledger.TryStart(stale)); // started once
        ledger.RunEnded(stale);
        ledger.Release(stale);
        Assert.Equal([(id, 2L)], ledger.Snapshot()); // the new claim keeps its heartbeat

        ledger.Release(stale); // released twice: counted once
        Assert.Equal([fresh], ledger.TakeBuffered([fresh])); // shutdown takes what never started …
        Assert.False(ledger.TryStart(fresh)); // … so no runner starts it too
        ledger.Release(fresh);
        Assert.Equal(0, ledger.Count);
        Assert.Equal(2, ledger.NextClaimSize());
    }

    private static ClaimLedger Ledger(int max, int min, int lookahead)
    {
        var ledger = new ClaimLedger(new JobsOptions { MaxJobsPerProcess = max, MinJobsPerProcess = min });
        ledger.SetLookahead(lookahead);
        return ledger;
    }

    // Adds this many claims to the ledger and starts the first of them, as the runners would; then, as
    // the dispatcher does before it looks at the room, clears the room signal.
    private static List<ClaimedJob> Hold(ClaimLedger ledger, int claimed, int started)
    {
        var claims = Enumerable.Range(0, claimed).Select(i => Claim(JobId.New(), i)).ToList();
        ledger.Add(claims);
        foreach (var claim in claims.Take(started))
        {
            Assert.True(ledger.TryStart(claim));
        }

        ledger.RoomFreed.Reset();
        return claims;
    }

    private static ClaimedJob Claim(JobId id, long token) => new()
    {
        Id = id,
        JobType = "t",
        Attempt = 1,
        ClaimToken = token,
        ConfigJson = "{}",
    };
}
