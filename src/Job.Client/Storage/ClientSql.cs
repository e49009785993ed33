namespace Job.Storage;

/// <summary>The statements the client side runs (spawn, read, cancel, flow control, schedules), embedded from <c>Storage/Sql</c>.</summary>
internal static class ClientSql
{
    public static readonly SqlStatement Spawn = Load("spawn");
    public static readonly SqlStatement FindJob = Load("find_job");
    public static readonly SqlStatement JobEvents = Load("job_events");
    public static readonly SqlStatement JobEventsWindow = Load("job_events_window");
    public static readonly SqlStatement ExistingIds = Load("existing_ids");
    public static readonly SqlStatement MarkAwaited = Load("mark_awaited");
    public static readonly SqlStatement Cancel = Load("cancel");
    public static readonly SqlStatement TypeSettingsSet = Load("type_settings_set");
    public static readonly SqlStatement TypeSettings = Load("type_settings");
    public static readonly SqlStatement QueueLimitSet = Load("queue_limit_set");
    public static readonly SqlStatement QueueLimitClear = Load("queue_limit_clear");
    public static readonly SqlStatement QueueRebalance = Load("queue_rebalance");
    public static readonly SqlStatement QueueLimit = Load("queue_limit");
    public static readonly SqlStatement TypeDeclarations = Load("type_declarations");
    public static readonly SqlStatement TypeDeclare = Load("type_declare");
    public static readonly SqlStatement TypeReset = Load("type_reset");
    public static readonly SqlStatement ScheduleSet = Load("schedule_set");
    public static readonly SqlStatement ScheduleRead = Load("schedule_read");
    public static readonly SqlStatement ScheduleReadAny = Load("schedule_read_any");
    public static readonly SqlStatement SchedulePause = Load("schedule_pause");
    public static readonly SqlStatement ScheduleResume = Load("schedule_resume");
    public static readonly SqlStatement ScheduleReset = Load("schedule_reset");
    public static readonly SqlStatement ScheduleRemove = Load("schedule_remove");
    public static readonly SqlStatement ScheduleTicks = Load("schedule_ticks");
    public static readonly SqlStatement ScheduleDeclare = Load("schedule_declare");
    public static readonly SqlStatement ScheduleUndeclared = Load("schedule_undeclared");
    public static readonly SqlStatement AdminListAll = Load("admin_list_all");
    public static readonly SqlStatement AdminListFinished = Load("admin_list_finished");
    public static readonly SqlStatement AdminListLive = Load("admin_list_live");
    public static readonly SqlStatement AdminJob = Load("admin_job");
    public static readonly SqlStatement AdminJobType = Load("admin_job_type");
    public static readonly SqlStatement AdminCountsLive = Load("admin_counts_live");
    public static readonly SqlStatement AdminCountsFinished = Load("admin_counts_finished");
    public static readonly SqlStatement AdminCountsFinishedSince = Load("admin_counts_finished_since");
    public static readonly SqlStatement AdminRetry = Load("admin_retry");
    public static readonly SqlStatement AdminCancel = Load("admin_cancel");
    public static readonly SqlStatement AdminDelete = Load("admin_delete");
    public static readonly SqlStatement AdminRecord = Load("admin_record");
    public static readonly SqlStatement AdminActions = Load("admin_actions");
    public static readonly SqlStatement AdminSilos = Load("admin_silos");

    private static SqlStatement Load(string name) => SqlStatement.Load(typeof(ClientSql).Assembly, "Job.Client.Sql.", name);
}
