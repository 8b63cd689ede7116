package sqlite

import (
	"embed"

	"github.com/cadenza-dialer/cadenza/engine/internal/sqlfile"
)

//go:embed queries/*.sql
var queryFiles embed.FS

// queries holds every statement of the driver, read from queries/*.sql where
// each statement follows a "-- name: NAME" line. Loading fails unless every
// field finds its statement and every statement is used, so a typo in a name
// stops Open instead of a request.
type queries struct {
	GetCadence          string `sql:"get_cadence"`
	ListCadences        string `sql:"list_cadences"`
	InsertCadence       string `sql:"insert_cadence"`
	InsertVersion       string `sql:"insert_version"`
	CadenceVersion      string `sql:"cadence_version"`
	BumpCadence         string `sql:"bump_cadence"`
	SetCadenceStatus    string `sql:"set_cadence_status"`
	SoftDeleteCadence   string `sql:"soft_delete_cadence"`
	ListVersions        string `sql:"list_versions"`
	GetVersion          string `sql:"get_version"`
	CadenceStats        string `sql:"cadence_stats"`
	CountActive         string `sql:"count_active_enrollments"`
	StopCadenceEnrolls  string `sql:"stop_cadence_enrollments"`
	CancelCadenceAction string `sql:"cancel_cadence_actions"`

	InsertTemplate string `sql:"insert_template"`
	ListTemplates  string `sql:"list_templates"`
	GetTemplate    string `sql:"get_template"`
	DeleteTemplate string `sql:"delete_template"`

	InsertAPIKey     string `sql:"insert_api_key"`
	TouchAPIKey      string `sql:"touch_api_key"`
	APIKeyByHash     string `sql:"api_key_by_hash"`
	ListAPIKeys      string `sql:"list_api_keys"`
	DeleteAPIKey     string `sql:"delete_api_key"`
	DeleteKeyIdem    string `sql:"delete_api_key_idempotency"`
	CountAPIKeys     string `sql:"count_api_keys"`
	GetIdempotent    string `sql:"get_idempotent"`
	InsertIdempotent string `sql:"insert_idempotent"`
	PurgeIdempotent  string `sql:"purge_idempotent"`

	InsertAsset string `sql:"insert_asset"`
	GetAsset    string `sql:"get_asset"`
	ListAssets  string `sql:"list_assets"`
	DeleteAsset string `sql:"delete_asset"`

	UpsertContact       string `sql:"upsert_contact"`
	GetContact          string `sql:"get_contact"`
	ContactOwnerByPhone string `sql:"contact_owner_by_phone"`
	InsertEnrollment    string `sql:"insert_enrollment"`
	GetEnrollment       string `sql:"get_enrollment"`
	StopEnrollment      string `sql:"stop_enrollment"`
	CancelEnrollAction  string `sql:"cancel_enrollment_actions"`
	InsertAction        string `sql:"insert_action"`
	GetAction           string `sql:"get_action"`
	CompleteAction      string `sql:"complete_action"`

	InsertTeam        string `sql:"insert_team"`
	GetTeam           string `sql:"get_team"`
	ListTeams         string `sql:"list_teams"`
	UpdateTeam        string `sql:"update_team"`
	TeamExists        string `sql:"team_exists"`
	DeleteTeam        string `sql:"delete_team"`
	InsertQueue       string `sql:"insert_queue"`
	GetQueue          string `sql:"get_queue"`
	ListQueues        string `sql:"list_queues"`
	UpdateQueue       string `sql:"update_queue"`
	QueueExists       string `sql:"queue_exists"`
	DeleteQueue       string `sql:"delete_queue"`
	InsertAgent       string `sql:"insert_agent"`
	InsertAgentQueue  string `sql:"insert_agent_queue"`
	DeleteAgentQueues string `sql:"delete_agent_queues"`
	GetAgent          string `sql:"get_agent"`
	ListAgents        string `sql:"list_agents"`
	ListAgentsByTeam  string `sql:"list_agents_by_team"`
	ListAgentsByQueue string `sql:"list_agents_by_queue"`
	UpdateAgent       string `sql:"update_agent"`
	AgentExists       string `sql:"agent_exists"`
	DeleteAgent       string `sql:"delete_agent"`
	ContactOwner      string `sql:"contact_owner"`
	SetContactOwner   string `sql:"set_contact_owner"`
	InsertOwnerChange string `sql:"insert_owner_change"`
	OwnerChanges      string `sql:"owner_changes"`

	InsertSMSTemplate string `sql:"insert_sms_template"`
	GetSMSTemplate    string `sql:"get_sms_template"`
	ListSMSTemplates  string `sql:"list_sms_templates"`
	UpdateSMSTemplate string `sql:"update_sms_template"`
	SMSTemplateRef    string `sql:"sms_template_ref"`
	SMSTemplateUser   string `sql:"sms_template_user"`
	DeleteSMSTemplate string `sql:"delete_sms_template"`

	CreateMigrationsTable string `sql:"create_migrations_table"`
	MigrationsTableExists string `sql:"migrations_table_exists"`
	AppliedMigrations     string `sql:"applied_migrations"`
	RecordMigration       string `sql:"record_migration"`
}

// loadQueries parses the embedded query files into a queries value.
func loadQueries() (*queries, error) {
	return sqlfile.Load[queries](queryFiles, "queries/*.sql")
}
