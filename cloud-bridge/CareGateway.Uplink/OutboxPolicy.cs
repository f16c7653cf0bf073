namespace CareGateway.Uplink;

/// <summary>
/// How much disk the outbox may use and how long it keeps delivered alarms. Alarms are never dropped: when the bound
/// is reached the outbox first removes delivered alarms, and if only undelivered alarms are left it grows past the
/// bound and says so loudly. Heartbeats and status messages are never queued at all (sent only while connected).
/// </summary>
public sealed record OutboxPolicy
{
    /// <summary>The normal upper bound of the store file (SQLite <c>max_page_count</c>).</summary>
    public long MaxBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>How far past <see cref="MaxBytes"/> the store may grow, each time, to keep undelivered alarms.</summary>
    public long EmergencyGrowthBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>Delivered (received) alarms are kept this long for diagnostics, then removed.</summary>
    public TimeSpan DeliveredRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>
    /// A file of this size is kept beside the store and deleted when the disk itself is full, so that the alarm being
    /// stored at that moment still fits. 0 turns it off.
    /// </summary>
    public long ReserveBytes { get; init; } = 4L * 1024 * 1024;
}

/// <summary>What the outbox found and did when its store file could not be used.</summary>
/// <param name="Problem">What was wrong, in plain words.</param>
/// <param name="MovedTo">Where the unusable file was moved (kept for analysis).</param>
/// <param name="Salvaged">Alarms read back from the damaged file into the new store.</param>
/// <param name="SalvagedUndelivered">Of those, alarms still waiting for the centre's 'received'.</param>
public sealed record OutboxRecovery(string Problem, string MovedTo, int Salvaged, int SalvagedUndelivered)
{
    /// <summary>For the operator, on the wire: what happened, without file paths.</summary>
    public string Describe() =>
        $"the alarm store was damaged at start and was replaced; {Salvaged} alarms were read back from it ({SalvagedUndelivered} not yet delivered). Alarms raised before the restart may be missing: check the sequence numbers.";

    public override string ToString() =>
        $"the alarm store was unusable ({Problem}); moved to {MovedTo}, a new store was created, {Salvaged} alarms read back ({SalvagedUndelivered} not yet delivered)";
}

/// <summary>The outbox could not store an alarm even after freeing space: the gateway must tell someone locally.</summary>
public sealed class OutboxFullException(string message, Exception? inner) : IOException(message, inner);
