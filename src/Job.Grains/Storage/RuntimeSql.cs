using Job.Storage;

namespace Job.Storage;

/// <summary>The statements only silos run (claims, outcomes, maintenance), embedded from <c>Storage/Sql</c>.</summary>
internal static class RuntimeSql
{
    public static readonly SqlStatement Claim = Load("claim");
    public static readonly SqlStatement Finish = Load("finish");
    public static readonly SqlStatement Rescue = Load("rescue");
    public static readonly SqlStatement Heartbeat = Load("heartbeat");
    public static readonly SqlStatement UpdateExecutionState = Load("update_execution_state");
    public static readonly SqlStatement Promote = Load("promote");
    public static readonly SqlStatement PendingTypes = Load("pending_types");
    public static readonly SqlStatement WaitingLongest = Load("waiting_longest");
    public static readonly SqlStatement Prune = Load("prune");
    public static readonly SqlStatement TrimLiveHistory = Load("trim_live_history");
    public static readonly SqlStatement JitOff = Load("jit_off");
    public static readonly SqlStatement ForeignClusters = Load("foreign_clusters");
    public static readonly SqlStatement MembershipTurn = Load("membership_turn");
    public static readonly SqlStatement QueueDepth = Load("queue_depth");
    public static readonly SqlStatement ScheduleDue = Load("schedule_due");
    public static readonly SqlStatement ScheduleNext = Load("schedule_next");
    public static readonly SqlStatement ScheduleFire = Load("schedule_fire");
    public static readonly SqlStatement ScheduleTicksPrune = Load("schedule_ticks_prune");

    private static SqlStatement Load(string name) => SqlStatement.Load(typeof(RuntimeSql).Assembly, "Job.Sql.", name);
}
