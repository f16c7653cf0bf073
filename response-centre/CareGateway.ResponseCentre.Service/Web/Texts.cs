namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>The console's words in Norwegian Bokmål (<c>nb</c>) and English (<c>en</c>).</summary>
public static class Texts
{
    public const string Bokmal = "nb";
    public const string English = "en";

    private static readonly Dictionary<string, (string Nb, string En)> Words = new(StringComparer.Ordinal)
    {
        ["title"] = ("Responssenter", "Response centre"),
        ["queue"] = ("Alarmkø", "Alarm queue"),
        ["history"] = ("Historikk", "History"),
        ["gateways"] = ("Gatewayer", "Gateways"),
        ["figures"] = ("Kvalitetstall", "Quality figures"),
        ["export"] = ("Journaleksport (FHIR)", "Record export (FHIR)"),
        ["logout"] = ("Logg ut", "Log out"),
        ["login"] = ("Logg inn", "Log in"),
        ["username"] = ("Brukernavn", "User name"),
        ["password"] = ("Passord", "Password"),
        ["login.failed"] = ("Feil brukernavn eller passord.", "Wrong user name or password."),
        ["priority"] = ("Prioritet", "Priority"),
        ["home"] = ("Hjem", "Home"),
        ["room"] = ("Rom", "Room"),
        ["type"] = ("Type", "Type"),
        ["waiting"] = ("Ventet", "Waiting"),
        ["status"] = ("Status", "Status"),
        ["reason"] = ("Årsak", "Reason"),
        ["action"] = ("Handling", "Action"),
        ["accept"] = ("Ta imot", "Accept"),
        ["close"] = ("Avslutt", "Close"),
        ["note"] = ("Notat", "Note"),
        ["outcome"] = ("Utfall", "Outcome"),
        ["outcome.handled"] = ("Fulgt opp", "Handled"),
        ["outcome.false-alarm"] = ("Falsk alarm", "False alarm"),
        ["outcome.technical"] = ("Teknisk", "Technical"),
        ["outcome.cancelled"] = ("Avbrutt lokalt", "Cancelled locally"),
        ["status.received"] = ("Mottatt", "Received"),
        ["status.accepted"] = ("Tatt imot", "Accepted"),
        ["status.closed"] = ("Avsluttet", "Closed"),
        ["status.cancelled"] = ("Avbrutt i hjemmet", "Cancelled at home"),
        ["priority.critical"] = ("Kritisk", "Critical"),
        ["priority.high"] = ("Høy", "High"),
        ["priority.medium"] = ("Middels", "Medium"),
        ["priority.low"] = ("Lav", "Low"),
        ["queue.empty"] = ("Ingen åpne alarmer.", "No open alarms."),
        ["new.alarm"] = ("Ny alarm", "New alarm"),
        ["raised"] = ("Utløst", "Raised"),
        ["received"] = ("Mottatt", "Received"),
        ["accepted"] = ("Tatt imot", "Accepted"),
        ["closed"] = ("Avsluttet", "Closed"),
        ["by"] = ("Av", "By"),
        ["from"] = ("Fra", "From"),
        ["to"] = ("Til", "To"),
        ["show"] = ("Vis", "Show"),
        ["gateway"] = ("Gateway", "Gateway"),
        ["label"] = ("Merkelapp", "Label"),
        ["group"] = ("Gruppe", "Group"),
        ["all.groups"] = ("Alle grupper", "All groups"),
        ["online"] = ("Tilkoblet", "Online"),
        ["offline"] = ("Frakoblet", "Offline"),
        ["silent"] = ("Taus (mangler hjerteslag)", "Silent (heartbeats missing)"),
        ["unknown"] = ("Ukjent", "Unknown"),
        ["last.heartbeat"] = ("Siste hjerteslag", "Last heartbeat"),
        ["pending"] = ("Alarmer i kø på gateway", "Alarms queued on gateway"),
        ["open.here"] = ("Åpne alarmer her", "Open alarms here"),
        ["software"] = ("Programvare", "Software"),
        ["save"] = ("Lagre", "Save"),
        ["sensors.attention"] = ("Sensorer som trenger tilsyn", "Sensors needing attention"),
        ["sensor"] = ("Sensor", "Sensor"),
        ["problem"] = ("Problem", "Problem"),
        ["since"] = ("Siden", "Since"),
        ["none"] = ("Ingen.", "None."),
        ["period"] = ("Periode", "Period"),
        ["period.day"] = ("Dag", "Day"),
        ["period.week"] = ("Uke", "Week"),
        ["period.month"] = ("Måned", "Month"),
        ["count"] = ("Antall", "Count"),
        ["alarms.by.type"] = ("Alarmer etter type", "Alarms by type"),
        ["time.to.receive"] = ("Tid til mottatt (median)", "Time to receive (median)"),
        ["time.to.accept"] = ("Tid til tatt imot (median)", "Time to accept (median)"),
        ["time.to.close"] = ("Tid til avsluttet (median)", "Time to close (median)"),
        ["share.cancelled"] = ("Andel avbrutt lokalt", "Share cancelled locally"),
        ["share.false"] = ("Andel falske alarmer", "Share closed as false alarm"),
        ["availability"] = ("Tilgjengelighet gatewayer", "Gateway availability"),
        ["alarms"] = ("Alarmer", "Alarms"),
        ["download"] = ("Last ned", "Download"),
        ["fhir.intro"] = ("Avsluttede alarmer som FHIR R4 (VKP 0.9.0): DetectedIssue, Encounter og Composition i en Bundle.", "Closed alarms as FHIR R4 (VKP 0.9.0): DetectedIssue, Encounter and Composition in a Bundle."),
        ["language"] = ("Språk", "Language"),
        ["copies"] = ("Kopier", "Copies"),
        ["type.fall"] = ("Fall", "Fall"),
        ["type.panic"] = ("Trygghetsknapp", "Panic button"),
        ["type.smoke"] = ("Brann/røyk", "Smoke"),
        ["type.water"] = ("Vannlekkasje", "Water leak"),
        ["type.wandering"] = ("Forlatt bolig", "Left home"),
        ["type.bathroom-stay"] = ("Lenge på bad", "Long bathroom stay"),
        ["type.inactivity"] = ("Inaktivitet", "Inactivity"),
        ["type.bed-exit"] = ("Forlatt sengen", "Left bed"),
        ["type.not-up"] = ("Ikke stått opp", "Not up"),
        ["type.gateway-power"] = ("Strømbrudd gateway", "Gateway power"),
        ["type.tamper"] = ("Sabotasje", "Tamper"),
        ["type.sensor-offline"] = ("Sensor frakoblet", "Sensor offline"),
        ["type.low-battery"] = ("Lavt batteri", "Low battery"),
        ["type.test"] = ("Test", "Test"),
        ["type.gateway-offline"] = ("Gateway frakoblet", "Gateway offline"),
        ["type.heartbeat-missing"] = ("Hjerteslag mangler", "Heartbeats missing"),
        ["type.sequence-gap"] = ("Alarm mangler (sekvens)", "Alarm missing (sequence)"),
        ["room.hallway"] = ("Gang", "Hallway"),
        ["room.bedroom"] = ("Soverom", "Bedroom"),
        ["room.bathroom"] = ("Bad", "Bathroom"),
        ["room.kitchen"] = ("Kjøkken", "Kitchen"),
        ["room.living-room"] = ("Stue", "Living room"),
        ["room.livingroom"] = ("Stue", "Living room"),
        ["room.entrance"] = ("Inngang", "Entrance"),
    };

    public static string Normalize(string? language) => language == English ? English : Bokmal;

    /// <summary>The word for a key; the key itself when there is none (never an exception in the console).</summary>
    public static string T(string language, string key) =>
        Words.TryGetValue(key, out var w) ? (language == English ? w.En : w.Nb) : key;

    /// <summary>A value with a translated form under <c>prefix.value</c>, else the value as it is.</summary>
    public static string Value(string language, string prefix, string? value) =>
        value is null ? "" : Words.ContainsKey($"{prefix}.{value}") ? T(language, $"{prefix}.{value}") : value;

    /// <summary>Keys present in one language only would be a translation gap (tested).</summary>
    public static IEnumerable<string> Keys => Words.Keys;
}
