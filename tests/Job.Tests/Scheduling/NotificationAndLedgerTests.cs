using Job.Execution;
using Job.Scheduling;
using Job.Storage;

namespace Job.Tests.Scheduling;

public sealed class NotificationAndLedgerTests
{
    [Fact]
    public void A_schedulers_announcement_carries_its_type_and_clock_reading()
    {
        var upTo = new DateTimeOffset(2026, 11, 28, 21, 30, 15, 123, TimeSpan.Zero).AddTicks(4567);
        var payload = JobNotifications.DuePayload("inbox:acme/v2", upTo);

        Assert.Equal(("inbox:acme/v2", (DateTimeOffset?)upTo), JobNotifications.ParseExecution(payload));
        Assert.Equal(("inbox:acme/v2", (DateTimeOffset?)null), JobNotifications.ParseExecution("inbox:acme/v2")); // a spawn's: the type only
        Assert.Equal(((string?)null, (DateTimeOffset?)null), JobNotifications.ParseExecution(null));
        Assert.Equal(("t", (DateTimeOffset?)null), JobNotifications.ParseExecution("t not-a-time"));
    }

    [Fact]
    public void Later_work_reaches_only_the_scheduler_of_its_type_and_a_replaced_one_detaches_cleanly()
    {
        var notifications = new JobNotifications(new JobWaiters());
        var woken = new List<string>();
        using var a = notifications.AttachScheduler("a", () => woken.Add("a"));
        var oldB = notifications.AttachScheduler("b", () => woken.Add("old b"));
        using var newB = notifications.AttachScheduler("b", () => woken.Add("new b")); // reactivated on this silo

        notifications.OnScheduled("b");
        oldB.Dispose(); // the old activation's late cleanup must not detach the new one
        notifications.OnScheduled("b");
        notifications.OnScheduled("unknown");
        notifications.OnListening(); // after a reconnect, every scheduler looks again

        Assert.Equal(["new b", "new b"], woken.Take(2));
        Assert.Equal(["a", "new b"], woken.Skip(2).Order());
    }

    [Fact]
    public void A_stale_run_and_the_new_claim_of_the_same_job_are_released_separately()
    {
        var ledger = new ClaimLedger(new JobsOptions { Poller = new JobPollerConfig { MaxJobsPerProcess = 2, MinJobsPerProcess = 2 } });
        var id = JobId.New();
        var stale = Claim(id, token: 1);
        var fresh = Claim(id, token: 2);
        ledger.Add([stale]);
        ledger.Add([fresh]);

        ledger.Release(stale);
        Assert.Equal([(id, 2L)], ledger.Snapshot()); // the new claim keeps its heartbeat
        Assert.True(ledger.RoomFreed.WaitTask.IsCompleted);

        ledger.Release(stale); // released twice: counted once
        Assert.Equal(1, ledger.NextBatchSize());
        ledger.Release(fresh);
        Assert.True(ledger.IsEmpty);
        Assert.Equal(2, ledger.NextBatchSize());
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
