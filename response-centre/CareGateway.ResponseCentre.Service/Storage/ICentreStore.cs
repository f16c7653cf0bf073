using CareGateway.Protocol;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>
/// Everything the centre keeps. Two implementations share one SQL text (<see cref="SqlCentreStore"/>): SQLite, the
/// embedded default, and PostgreSQL for a centre with several instances. Times are stored as Unix milliseconds (UTC).
/// </summary>
public interface ICentreStore
{
    /// <summary>Brings the schema up to date (migrations in code, applied once, in order).</summary>
    Task MigrateAsync(CancellationToken ct);

    /// <summary>
    /// Stores an alarm once by its gateway and id (a technical alarm once by gateway and <see cref="StoredAlarm.Cause"/>).
    /// Returns true for a new alarm; a copy from the same gateway only counts up <c>copies</c>.
    /// </summary>
    Task<bool> AddAlarmAsync(StoredAlarm alarm, CancellationToken ct);

    /// <summary>
    /// A copy of a stored alarm that brings more repeats than stored: records them (and opens a closed alarm again);
    /// true when it did, so the operator is alerted again.
    /// </summary>
    Task<bool> RecordRepeatAsync(StoredAlarm alarm, CancellationToken ct);

    /// <summary>Appends one line to the audit log (there is no way to change or delete one).</summary>
    Task AddAuditAsync(AuditEntry entry, CancellationToken ct);

    /// <summary>The audit log in [since, until), newest first, at most <paramref name="limit"/> lines.</summary>
    Task<IReadOnlyList<AuditEntry>> AuditAsync(DateTimeOffset since, DateTimeOffset until, int limit, CancellationToken ct);

    /// <summary>
    /// Retention, in one transaction: clears the operator's note of alarms closed before <see cref="RetentionCutoffs.NotesClosedBefore"/>,
    /// and the free text of their handling steps, deletes alarms closed before <see cref="RetentionCutoffs.AlarmsClosedBefore"/>
    /// with their acknowledgements, handling steps and dispatches, and
    /// audit lines older than <see cref="RetentionCutoffs.AuditBefore"/> (a null cutoff keeps that kind for ever).
    /// An alarm that is not closed is never touched.
    /// </summary>
    Task<RetentionOutcome> ApplyRetentionAsync(RetentionCutoffs cutoffs, CancellationToken ct);

    /// <summary>Stores a home's sealed resident record (encrypted by <see cref="Homes.HomeRecords"/>), replacing the one before.</summary>
    Task SaveHomeRecordAsync(SealedHomeRecord record, CancellationToken ct);

    /// <summary>The sealed records of these gateways' homes (those that have one).</summary>
    Task<IReadOnlyList<SealedHomeRecord>> HomeRecordsAsync(IReadOnlyCollection<string> gatewayIds, CancellationToken ct);

    /// <summary>
    /// A home's personal data, in one transaction: deletes its resident record and clears the operator's notes of its
    /// closed alarms (they may hold health details). The alarms stay, anonymous (gateway, type, times), for the figures.
    /// Returns how many notes were cleared.
    /// </summary>
    Task<int> DeleteHomeRecordAsync(string gatewayId, CancellationToken ct);

    /// <summary>Records a command to a gateway before it is first sent.</summary>
    Task AddCommandAsync(GatewayCommandRecord command, CancellationToken ct);

    /// <summary>Counts one more sending of a command that has no result yet.</summary>
    Task MarkCommandSentAsync(string commandId, DateTimeOffset at, CancellationToken ct);

    /// <summary>Records a command's result (the first one; a repeated answer changes nothing); false when unknown or already answered.</summary>
    Task<bool> RecordCommandResultAsync(string commandId, string gatewayId, string status, string reason, DateTimeOffset at, string? result, CancellationToken ct);

    /// <summary>A gateway's latest commands, newest first.</summary>
    Task<IReadOnlyList<GatewayCommandRecord>> CommandsAsync(string gatewayId, int limit, CancellationToken ct);

    /// <summary>Commands without a result, oldest first.</summary>
    Task<IReadOnlyList<GatewayCommandRecord>> WaitingCommandsAsync(int limit, CancellationToken ct);

    /// <summary>The Data Protection keys kept in the database, oldest first (XML as Data Protection wrote them).</summary>
    Task<IReadOnlyList<string>> DataProtectionKeysAsync(CancellationToken ct);

    /// <summary>Adds a key (a name already stored is kept as it is: keys never change once written).</summary>
    Task AddDataProtectionKeyAsync(string name, string xml, DateTimeOffset at, CancellationToken ct);

    /// <summary>Per known gateway: its latest test alarm and since when the centre has known it.</summary>
    Task<IReadOnlyList<TestAlarmSeen>> TestAlarmsSeenAsync(CancellationToken ct);

    /// <summary>
    /// Marks escalated, at <paramref name="now"/>, every open care alarm (of <paramref name="careTypes"/>) not yet
    /// accepted and received before its priority's cutoff, once; returns those it marked.
    /// </summary>
    Task<IReadOnlyList<StoredAlarm>> EscalateOverdueAsync(DateTimeOffset now, IReadOnlyDictionary<AlarmPriority, DateTimeOffset> receivedBefore, IReadOnlyList<string> careTypes, CancellationToken ct);

    /// <summary>
    /// The intake's group commit (<see cref="Centre.CentreCore"/>, CentreCore.Intake.cs), in ONE transaction: for each
    /// alarm in order, makes sure its gateway exists, stores it once by gateway and id (a copy counts up <c>copies</c>), records a
    /// sensor problem for a new one that carries it, and writes its <c>received</c> acknowledgement (unsent); records
    /// each heartbeat as <see cref="RecordHeartbeatAsync"/> does, with the gateway event of a gateway that comes back
    /// (<see cref="IntakeCommit.ComesBack"/>); and marks <paramref name="acksSent"/> as sent at
    /// <paramref name="sentAt"/>. When this returns the whole batch is durable.
    /// </summary>
    Task<IntakeCommit> CommitIntakeAsync(IReadOnlyList<IncomingAlarm> alarms, IReadOnlyList<HeartbeatArrival> heartbeats, IReadOnlyList<string> acksSent, DateTimeOffset sentAt, CancellationToken ct);

    /// <summary>Marks several acknowledgements sent in one transaction.</summary>
    Task MarkAcksSentAsync(IReadOnlyList<string> ackIds, DateTimeOffset at, CancellationToken ct);

    Task<StoredAlarm?> GetAlarmAsync(AlarmKey key, CancellationToken ct);

    /// <summary>Every alarm with this id, of whichever gateway (the console names an alarm by id alone).</summary>
    Task<IReadOnlyList<StoredAlarm>> FindAlarmsAsync(string alarmId, CancellationToken ct);

    /// <summary>Per gateway, how many of its own alarms are open (the intake's cap; technical alarms do not count).</summary>
    Task<IReadOnlyDictionary<string, int>> OpenAlarmCountsAsync(CancellationToken ct);

    /// <summary>How many of this gateway's own alarms are open (not test alarms).</summary>
    Task<int> OpenAlarmCountAsync(string gatewayId, CancellationToken ct);

    /// <summary>Alarms not closed and not cancelled by the resident.</summary>
    Task<IReadOnlyList<StoredAlarm>> OpenAlarmsAsync(CancellationToken ct);

    /// <summary>One page of the open alarms in queue order (most urgent, then longest waiting) and how many are open in all.</summary>
    Task<OpenAlarmsPage> OpenAlarmsPageAsync(int skip, int take, CancellationToken ct);

    /// <summary>Alarms raised in [from, until), newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<StoredAlarm>> AlarmsAsync(DateTimeOffset from, DateTimeOffset until, int limit, CancellationToken ct);

    /// <summary>Marks an alarm accepted; false when it was already accepted or closed (or is unknown).</summary>
    Task<bool> AcceptAsync(AlarmKey key, string by, DateTimeOffset at, CancellationToken ct);

    /// <summary>
    /// Closes an alarm (accepting it too if nobody had) and ends its dispatches' links, in one transaction; false when it
    /// was already closed (or is unknown).
    /// </summary>
    Task<bool> CloseAsync(AlarmKey key, string by, DateTimeOffset at, string? note, string? outcome, CancellationToken ct);

    /// <summary>
    /// Appends one step of an alarm's handling, only while the alarm is accepted and not closed; a team's step
    /// (<see cref="HandlingStep.DispatchId"/> set) only while its dispatch's link works at <see cref="HandlingStep.At"/>,
    /// and each kind once per dispatch. False when it was not stored for any of these reasons.
    /// </summary>
    Task<bool> AddHandlingStepAsync(HandlingStep handling, CancellationToken ct);

    /// <summary>Stores a dispatch with its <c>dispatch</c> step in one transaction, only while the alarm is accepted and not closed.</summary>
    Task<bool> AddDispatchAsync(DispatchRecord dispatch, HandlingStep handling, CancellationToken ct);

    /// <summary>An alarm's handling steps in time order.</summary>
    Task<IReadOnlyList<HandlingStep>> HandlingAsync(AlarmKey key, CancellationToken ct);

    /// <summary>The handling steps of every alarm raised in [from, until) (the record export), in time order.</summary>
    Task<IReadOnlyList<HandlingStep>> HandlingOfAlarmsRaisedAsync(DateTimeOffset from, DateTimeOffset until, CancellationToken ct);

    /// <summary>An alarm's dispatches, oldest first.</summary>
    Task<IReadOnlyList<DispatchRecord>> DispatchesAsync(AlarmKey key, CancellationToken ct);

    /// <summary>The dispatch whose link's token has this hash (also an ended or expired one: the caller checks); null when none.</summary>
    Task<DispatchRecord?> FindDispatchAsync(string tokenHash, CancellationToken ct);

    Task AddAckAsync(AckRecord ack, CancellationToken ct);

    Task MarkAckSentAsync(string ackId, DateTimeOffset at, CancellationToken ct);

    Task<IReadOnlyList<AckRecord>> AcksAsync(AlarmKey key, CancellationToken ct);

    /// <summary>Acknowledgements not yet taken by the broker, oldest first.</summary>
    Task<IReadOnlyList<AckRecord>> UnsentAcksAsync(int limit, CancellationToken ct);

    /// <summary>Records a status message; returns the state known before (null when none).</summary>
    Task<GatewayState?> RecordStatusAsync(StatusMessage status, DateTimeOffset at, CancellationToken ct);

    /// <summary>Records a heartbeat; returns the gateway as it was before (null when it is new).</summary>
    Task<GatewayRecord?> RecordHeartbeatAsync(HeartbeatMessage heartbeat, DateTimeOffset at, CancellationToken ct);

    /// <summary>Makes sure a gateway row exists (first contact by an alarm).</summary>
    Task EnsureGatewayAsync(string gatewayId, long seqBaseline, CancellationToken ct);

    /// <summary>Marks a gateway silent; false when it already was.</summary>
    Task<bool> MarkSilentAsync(string gatewayId, DateTimeOffset at, CancellationToken ct);

    Task SetGapReportedAsync(string gatewayId, long upTo, CancellationToken ct);

    Task SetGatewayLabelAsync(string gatewayId, string? label, string? homeGroup, CancellationToken ct);

    Task<GatewayRecord?> GetGatewayAsync(string gatewayId, CancellationToken ct);

    Task<IReadOnlyList<GatewayRecord>> GatewaysAsync(CancellationToken ct);

    /// <summary>Sequence numbers of a gateway's alarms in [fromSeq, toSeq].</summary>
    Task<IReadOnlyList<long>> KnownSeqsAsync(string gatewayId, long fromSeq, long toSeq, CancellationToken ct);

    Task AddGatewayEventAsync(GatewayEvent e, CancellationToken ct);

    /// <summary>Reachability changes before <paramref name="until"/>, oldest first.</summary>
    Task<IReadOnlyList<GatewayEvent>> GatewayEventsAsync(DateTimeOffset until, CancellationToken ct);

    /// <summary>Records a sensor's technical problem (low battery, offline, tamper) from an alarm.</summary>
    Task RecordSensorProblemAsync(SensorProblem problem, CancellationToken ct);

    /// <summary>Sensors whose latest problem's alarm is not closed.</summary>
    Task<IReadOnlyList<SensorProblem>> SensorsNeedingAttentionAsync(CancellationToken ct);

    Task<CentreUser?> FindUserAsync(string userName, CancellationToken ct);

    Task<int> CountUsersAsync(CancellationToken ct);

    /// <summary>Adds a user or replaces its password and role.</summary>
    Task SaveUserAsync(CentreUser user, CancellationToken ct);

    /// <summary>
    /// Records that the user's TOTP code of time step <paramref name="timeStep"/> was used, in one atomic step: false when
    /// that time step or a later one was used already (the code is a replay), so two requests with one code cannot both win.
    /// </summary>
    Task<bool> TryAdvanceTotpStepAsync(string userName, long timeStep, CancellationToken ct);

    /// <summary>
    /// The VKP send queue: closed care alarms (of <paramref name="careTypes"/>, closed at or after
    /// <paramref name="closedSince"/>) not yet sent and not waiting out their own back-off at <paramref name="now"/>,
    /// oldest closed first, at most <paramref name="limit"/>.
    /// </summary>
    Task<IReadOnlyList<StoredAlarm>> VkpDueAsync(DateTimeOffset now, DateTimeOffset? closedSince, IReadOnlyList<string> careTypes, int limit, CancellationToken ct);

    /// <summary>The earliest time an unsent alarm that failed on its own (the hub refused it) may be tried again.</summary>
    Task<DateTimeOffset?> VkpNextAttemptAsync(CancellationToken ct);

    /// <summary>Records that the alarm's bundle was delivered (it is never sent again).</summary>
    Task MarkVkpSentAsync(AlarmKey key, DateTimeOffset at, CancellationToken ct);

    /// <summary>Records a failed attempt and why (<paramref name="reason"/>); <paramref name="nextAttemptAt"/> holds this alarm back until then (null: due at once).</summary>
    Task MarkVkpFailedAsync(AlarmKey key, DateTimeOffset at, string reason, DateTimeOffset? nextAttemptAt, CancellationToken ct);

    /// <summary>The alarm's row in the send queue (null when the sender has not tried it).</summary>
    Task<VkpSendState?> VkpSendStateAsync(AlarmKey key, CancellationToken ct);
}
