package logs

import (
	"container/heap"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"hearth/internal/awsapi"
	"hearth/internal/awserr"
)

// Service is the CloudWatch Logs API over a Store.
type Service struct {
	store     *Store
	region    string
	accountID string
}

// NewService returns the API for st, reporting ARNs in region and account.
func NewService(st *Store, region, accountID string) *Service {
	return &Service{store: st, region: region, accountID: accountID}
}

// GroupARN is the ARN of log group name, as ModelError's LogStreamArn and
// DescribeLogGroups' logGroupArn give it.
func GroupARN(region, accountID, name string) string {
	return "arn:aws:logs:" + region + ":" + accountID + ":log-group:" + name
}

// RetentionDays are the retention periods PutRetentionPolicy accepts.
var RetentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

func invalid(format string, args ...any) *awserr.Error {
	return awserr.New("InvalidParameterException", http.StatusBadRequest, format, args...)
}

func errNoGroup() *awserr.Error {
	return awserr.New("ResourceNotFoundException", http.StatusBadRequest, "The specified log group does not exist.")
}

func errNoStream() *awserr.Error {
	return awserr.New("ResourceNotFoundException", http.StatusBadRequest, "The specified log stream does not exist.")
}

// violations returns v's failures as CloudWatch Logs reports them: an
// InvalidParameterException listing each.
func violations(v *awserr.Violations) error {
	err := v.Err()
	if e, ok := awserr.As(err); ok {
		e.Code = "InvalidParameterException"
	}
	return err
}

var groupNameRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)

func checkGroupName(v *awserr.Violations, path string, name *string) {
	switch {
	case name == nil:
	case len(*name) < 1:
		v.Add(name, path, "Member must have length greater than or equal to 1")
	case len(*name) > 512:
		v.Add(name, path, "Member must have length less than or equal to 512")
	case !groupNameRE.MatchString(*name):
		v.Add(name, path, `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
	}
}

func checkLimit(v *awserr.Violations, limit *int32, maxLimit int32) {
	switch {
	case limit == nil:
	case *limit < 1:
		v.Add(limit, "limit", "Member must have value greater than or equal to 1")
	case *limit > maxLimit:
		v.Add(limit, "limit", fmt.Sprintf("Member must have value less than or equal to %d", maxLimit))
	}
}

func checkTimes(v *awserr.Violations, start, end *int64) {
	if start != nil && *start < 0 {
		v.Add(*start, "startTime", "Member must have value greater than or equal to 0")
	}
	if end != nil && *end < 0 {
		v.Add(*end, "endTime", "Member must have value greater than or equal to 0")
	}
}

// groupIdentifier resolves logGroupName / logGroupIdentifier (a name or an
// ARN, with or without ":*") to a group name.
func (s *Service) groupIdentifier(name, ident *string) (string, error) {
	switch {
	case name != nil && ident != nil:
		return "", invalid("LogGroupName and LogGroupIdentifier are mutually exclusive; give one.")
	case name != nil:
		return *name, nil
	case ident != nil:
		id := *ident
		if rest, ok := strings.CutPrefix(id, "arn:"); ok {
			parts := strings.SplitN(rest, ":", 5)
			if len(parts) != 5 || parts[0] != "aws" || parts[1] != "logs" || !strings.HasPrefix(parts[4], "log-group:") {
				return "", invalid("The logGroupIdentifier %q is not a log group name or ARN.", id)
			}
			id = strings.TrimSuffix(strings.TrimPrefix(parts[4], "log-group:"), ":*")
		}
		return id, nil
	}
	return "", invalid("Either logGroupName or logGroupIdentifier is required.")
}

type groupRow struct {
	name      string
	created   int64
	retention sql.NullInt64
	bytes     int64
}

func (s *Service) group(ctx context.Context, name string) (*groupRow, error) {
	var g groupRow
	err := s.store.db.QueryRowContext(ctx, `SELECT name, created, retention, bytes FROM log_groups WHERE name = ?`, name).
		Scan(&g.name, &g.created, &g.retention, &g.bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoGroup()
	}
	if err != nil {
		return nil, fmt.Errorf("log group %q: %w", name, err)
	}
	return &g, nil
}

// oldest is the earliest event time the group's retention still shows.
func (s *Service) oldest(g *groupRow) int64 {
	if !g.retention.Valid {
		return 0
	}
	return cutoff(s.store.clock.Now(), g.retention.Int64)
}

// LogGroup describes a log group.
type LogGroup struct {
	LogGroupName      string `json:"logGroupName"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   *int32 `json:"retentionInDays,omitempty"`
	MetricFilterCount int32  `json:"metricFilterCount"`
	Arn               string `json:"arn"`
	StoredBytes       int64  `json:"storedBytes"`
	LogGroupClass     string `json:"logGroupClass"`
	LogGroupArn       string `json:"logGroupArn"`
}

// DescribeLogGroupsInput is DescribeLogGroups' request.
type DescribeLogGroupsInput struct {
	LogGroupNamePrefix  *string  `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string  `json:"logGroupNamePattern"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	LogGroupClass       *string  `json:"logGroupClass"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
}

// DescribeLogGroupsOutput is DescribeLogGroups' response.
type DescribeLogGroupsOutput struct {
	LogGroups []LogGroup `json:"logGroups"`
	NextToken *string    `json:"nextToken,omitempty"`
}

// DescribeLogGroups lists log groups in name order.
func (s *Service) DescribeLogGroups(ctx context.Context, in *DescribeLogGroupsInput) (*DescribeLogGroupsOutput, error) {
	var v awserr.Violations
	checkGroupName(&v, "logGroupNamePrefix", in.LogGroupNamePrefix)
	checkLimit(&v, in.Limit, 50)
	if err := violations(&v); err != nil {
		return nil, err
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if in.LogGroupIdentifiers != nil && (in.LogGroupNamePrefix != nil || in.LogGroupNamePattern != nil) {
		return nil, invalid("LogGroupIdentifiers cannot be combined with a name prefix or pattern.")
	}
	if c := in.LogGroupClass; c != nil && *c != "STANDARD" && *c != "INFREQUENT_ACCESS" && *c != "DELIVERY" {
		return nil, invalid("1 validation error detected: Value '%s' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]", *c)
	}
	hash := awsapi.RequestHash(in.LogGroupNamePrefix, in.LogGroupNamePattern, in.LogGroupIdentifiers, in.LogGroupClass)
	offset, err := decodeOffset(in.NextToken, hash)
	if err != nil {
		return nil, err
	}
	limit := 50
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	q := `SELECT name, created, retention, bytes FROM log_groups WHERE 1 = 1`
	var args []any
	if p := in.LogGroupNamePrefix; p != nil {
		q += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(*p), *p)
	}
	if p := in.LogGroupNamePattern; p != nil {
		q += ` AND instr(lower(name), lower(?)) > 0`
		args = append(args, *p)
	}
	if ids := in.LogGroupIdentifiers; ids != nil {
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			n, err := s.groupIdentifier(nil, &id)
			if err != nil {
				return nil, err
			}
			names = append(names, n)
		}
		q += ` AND name IN (` + strings.TrimSuffix(strings.Repeat("?,", len(names)), ",") + `)`
		for _, n := range names {
			args = append(args, n)
		}
	}
	q += ` ORDER BY name LIMIT ? OFFSET ?`
	args = append(args, limit+1, offset)
	rows, err := s.store.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("describe log groups: %w", err)
	}
	defer rows.Close()
	out := &DescribeLogGroupsOutput{LogGroups: []LogGroup{}}
	for rows.Next() {
		var g groupRow
		if err := rows.Scan(&g.name, &g.created, &g.retention, &g.bytes); err != nil {
			return nil, fmt.Errorf("describe log groups: %w", err)
		}
		if len(out.LogGroups) == limit {
			out.NextToken = encodeOffset(offset+limit, hash)
			break
		}
		out.LogGroups = append(out.LogGroups, s.describeGroup(&g))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe log groups: %w", err)
	}
	return out, nil
}

func (s *Service) describeGroup(g *groupRow) LogGroup {
	arn := GroupARN(s.region, s.accountID, g.name)
	lg := LogGroup{LogGroupName: g.name, CreationTime: g.created, Arn: arn + ":*", LogGroupArn: arn,
		StoredBytes: g.bytes, LogGroupClass: "STANDARD"}
	if g.retention.Valid {
		d := int32(g.retention.Int64)
		lg.RetentionInDays = &d
	}
	return lg
}

// LogStream describes a log stream.
type LogStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp"`
	LastIngestionTime   int64  `json:"lastIngestionTime"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

// DescribeLogStreamsInput is DescribeLogStreams' request.
type DescribeLogStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int32  `json:"limit"`
}

// DescribeLogStreamsOutput is DescribeLogStreams' response.
type DescribeLogStreamsOutput struct {
	LogStreams []LogStream `json:"logStreams"`
	NextToken  *string     `json:"nextToken,omitempty"`
}

// DescribeLogStreams lists a group's streams by name or by last event.
func (s *Service) DescribeLogStreams(ctx context.Context, in *DescribeLogStreamsInput) (*DescribeLogStreamsOutput, error) {
	var v awserr.Violations
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	checkLimit(&v, in.Limit, 50)
	if o := in.OrderBy; o != nil && *o != "LogStreamName" && *o != "LastEventTime" {
		v.Add(o, "orderBy", "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
	}
	if err := violations(&v); err != nil {
		return nil, err
	}
	byTime := in.OrderBy != nil && *in.OrderBy == "LastEventTime"
	if byTime && in.LogStreamNamePrefix != nil {
		return nil, invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	name, err := s.groupIdentifier(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	g, err := s.group(ctx, name)
	if err != nil {
		return nil, err
	}
	hash := awsapi.RequestHash(g.name, in.LogStreamNamePrefix, in.OrderBy, in.Descending)
	offset, err := decodeOffset(in.NextToken, hash)
	if err != nil {
		return nil, err
	}
	limit := 50
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	q := `SELECT name, created, first_event, last_event, last_ingestion FROM log_streams WHERE grp = ?`
	args := []any{g.name}
	if p := in.LogStreamNamePrefix; p != nil {
		q += ` AND substr(name, 1, ?) = ?`
		args = append(args, len(*p), *p)
	}
	dir := ""
	if in.Descending != nil && *in.Descending {
		dir = " DESC"
	}
	if byTime {
		q += ` ORDER BY last_event` + dir + `, name` + dir
	} else {
		q += ` ORDER BY name` + dir
	}
	q += ` LIMIT ? OFFSET ?`
	args = append(args, limit+1, offset)
	rows, err := s.store.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("describe log streams: %w", err)
	}
	defer rows.Close()
	out := &DescribeLogStreamsOutput{LogStreams: []LogStream{}}
	for rows.Next() {
		var ls LogStream
		if err := rows.Scan(&ls.LogStreamName, &ls.CreationTime, &ls.FirstEventTimestamp, &ls.LastEventTimestamp, &ls.LastIngestionTime); err != nil {
			return nil, fmt.Errorf("describe log streams: %w", err)
		}
		if len(out.LogStreams) == limit {
			out.NextToken = encodeOffset(offset+limit, hash)
			break
		}
		ls.Arn = GroupARN(s.region, s.accountID, g.name) + ":log-stream:" + ls.LogStreamName
		out.LogStreams = append(out.LogStreams, ls)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe log streams: %w", err)
	}
	return out, nil
}

// OutputLogEvent is an event as GetLogEvents returns it.
type OutputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// GetLogEventsInput is GetLogEvents' request.
type GetLogEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int32  `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
	Unmask             *bool   `json:"unmask"`
}

// GetLogEventsOutput is GetLogEvents' response.
type GetLogEventsOutput struct {
	Events            []OutputLogEvent `json:"events"`
	NextForwardToken  string           `json:"nextForwardToken"`
	NextBackwardToken string           `json:"nextBackwardToken"`
}

// maxResponseBytes is the most event data one response carries, as
// CloudWatch Logs' 1 MB.
const maxResponseBytes = 1 << 20

// GetLogEvents reads one stream: from the head or the tail, then forward
// or backward from a token.
func (s *Service) GetLogEvents(ctx context.Context, in *GetLogEventsInput) (*GetLogEventsOutput, error) {
	var v awserr.Violations
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	if in.LogStreamName == nil {
		v.Add(nil, "logStreamName", "Member must not be null")
	}
	checkLimit(&v, in.Limit, 10000)
	checkTimes(&v, in.StartTime, in.EndTime)
	if err := violations(&v); err != nil {
		return nil, err
	}
	var tok position
	dir := ' '
	if in.NextToken != nil {
		var err error
		if dir, tok, err = parseToken(*in.NextToken); err != nil {
			return nil, err
		}
	}
	name, err := s.groupIdentifier(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	g, err := s.group(ctx, name)
	if err != nil {
		return nil, err
	}
	var sid int64
	err = s.store.db.QueryRowContext(ctx, `SELECT id FROM log_streams WHERE grp = ? AND name = ?`, g.name, *in.LogStreamName).Scan(&sid)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoStream()
	}
	if err != nil {
		return nil, fmt.Errorf("get log events: %w", err)
	}
	limit := 10000
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	lo, hi := s.oldest(g), int64(math.MaxInt64) // lo <= ts < hi
	if in.StartTime != nil {
		lo = max(lo, *in.StartTime)
	}
	if in.EndTime != nil {
		hi = *in.EndTime
	}
	fromHead := in.StartFromHead != nil && *in.StartFromHead
	forward := dir == 'f' || (dir == ' ' && fromHead)
	keep := func(e *storedEvent) bool {
		switch {
		case e.pos.ts < lo || e.pos.ts >= hi:
			return false
		case dir == 'f':
			return tok.less(e.pos)
		case dir == 'b':
			return e.pos.less(tok)
		}
		return true
	}
	q := `SELECT id, first_ts, ingested, data FROM log_chunks WHERE stream = ? AND last_ts >= ? AND first_ts < ?`
	args := []any{sid, lo, hi}
	switch {
	case forward:
		q += ` AND id >= ? ORDER BY id`
		args = append(args, tok.id>>seqShift)
	case dir == 'b':
		q += ` AND id <= ? ORDER BY id DESC`
		args = append(args, tok.id>>seqShift)
	default:
		q += ` ORDER BY id DESC`
	}
	rows, err := s.store.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("get log events: %w", err)
	}
	defer rows.Close()
	var picked, buf []storedEvent
	size := 0
	take := func(e *storedEvent) bool {
		if !keep(e) {
			return true
		}
		if size += len(e.message) + eventOverhead; size > maxResponseBytes && len(picked) > 0 {
			return false
		}
		picked = append(picked, *e)
		return len(picked) < limit
	}
scan:
	for rows.Next() {
		var id, first, ingested int64
		var data []byte
		if err := rows.Scan(&id, &first, &ingested, &data); err != nil {
			return nil, fmt.Errorf("get log events: %w", err)
		}
		if buf, err = decodeChunk(buf[:0], id, sid, first, ingested, data); err != nil {
			return nil, err
		}
		if forward {
			for i := range buf {
				if !take(&buf[i]) {
					break scan
				}
			}
		} else {
			for i := len(buf) - 1; i >= 0; i-- {
				if !take(&buf[i]) {
					break scan
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get log events: %w", err)
	}
	if !forward {
		slices.Reverse(picked)
	}
	out := &GetLogEventsOutput{Events: make([]OutputLogEvent, len(picked))}
	for i, e := range picked {
		out.Events[i] = OutputLogEvent{Timestamp: e.pos.ts, Message: e.message, IngestionTime: e.ingested}
	}
	if len(picked) > 0 {
		out.NextForwardToken = "f/" + picked[len(picked)-1].pos.String()
		out.NextBackwardToken = "b/" + picked[0].pos.String()
	} else {
		// At an end: the same place both ways.
		out.NextForwardToken = "f/" + tok.String()
		out.NextBackwardToken = "b/" + tok.String()
	}
	return out, nil
}

// FilteredLogEvent is an event as FilterLogEvents returns it.
type FilteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

// SearchedLogStream says whether a stream was searched to the end.
type SearchedLogStream struct {
	LogStreamName      string `json:"logStreamName"`
	SearchedCompletely bool   `json:"searchedCompletely"`
}

// FilterLogEventsInput is FilterLogEvents' request.
type FilterLogEventsInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int32   `json:"limit"`
	Interleaved         *bool    `json:"interleaved"`
	Unmask              *bool    `json:"unmask"`
}

// FilterLogEventsOutput is FilterLogEvents' response.
type FilterLogEventsOutput struct {
	Events             []FilteredLogEvent  `json:"events"`
	SearchedLogStreams []SearchedLogStream `json:"searchedLogStreams"`
	NextToken          *string             `json:"nextToken,omitempty"`
}

// filterScanLimit bounds the events one FilterLogEvents call examines; a
// search that stops there returns a nextToken to go on from, as CloudWatch
// Logs does when a search runs out of time.
const filterScanLimit = 200000

// FilterLogEvents searches a group's streams, interleaved in time order.
func (s *Service) FilterLogEvents(ctx context.Context, in *FilterLogEventsInput) (*FilterLogEventsOutput, error) {
	var v awserr.Violations
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	checkLimit(&v, in.Limit, 10000)
	checkTimes(&v, in.StartTime, in.EndTime)
	if n := len(in.LogStreamNames); in.LogStreamNames != nil && (n < 1 || n > 100) {
		v.Add(fmt.Sprint(in.LogStreamNames), "logStreamNames", "Member must have length between 1 and 100")
	}
	if err := violations(&v); err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, invalid("You cannot specify both LogStreamNames and LogStreamNamePrefix.")
	}
	var pat Pattern
	if in.FilterPattern != nil {
		var err error
		if pat, err = ParsePattern(*in.FilterPattern); err != nil {
			return nil, invalid("Invalid filter pattern: %v", err)
		}
	}
	var after position
	if in.NextToken != nil {
		var err error
		if after, err = parseFilterToken(*in.NextToken); err != nil {
			return nil, err
		}
	}
	name, err := s.groupIdentifier(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	g, err := s.group(ctx, name)
	if err != nil {
		return nil, err
	}
	limit := 10000
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	// The streams searched, by row id.
	streams := map[int64]string{}
	sq := `SELECT id, name FROM log_streams WHERE grp = ?`
	sargs := []any{g.name}
	if p := in.LogStreamNamePrefix; p != nil {
		sq += ` AND substr(name, 1, ?) = ?`
		sargs = append(sargs, len(*p), *p)
	}
	if names := in.LogStreamNames; names != nil {
		sq += ` AND name IN (` + strings.TrimSuffix(strings.Repeat("?,", len(names)), ",") + `)`
		for _, n := range names {
			sargs = append(sargs, n)
		}
	}
	if err := s.queryEach(ctx, sq, sargs, func(rows *sql.Rows) error {
		var id int64
		var name string
		err := rows.Scan(&id, &name)
		streams[id] = name
		return err
	}); err != nil {
		return nil, fmt.Errorf("filter log events: %w", err)
	}
	lo, hi := max(s.oldest(g), after.ts), int64(math.MaxInt64) // lo <= ts <= hi
	if in.StartTime != nil {
		lo = max(lo, *in.StartTime)
	}
	if in.EndTime != nil {
		hi = *in.EndTime
	}
	out := &FilterLogEventsOutput{Events: []FilteredLogEvent{}, SearchedLogStreams: []SearchedLogStream{}}
	// Chunks come in order of their first event; an event waits in the
	// heap until no chunk still to come can hold an earlier one.
	var h eventHeap
	last := after
	scanned, size := 0, 0
	stopped := false
	emit := func(e storedEvent) bool {
		if !after.less(e.pos) || e.pos.ts < lo || e.pos.ts > hi {
			return true
		}
		if pat.Match(e.message) {
			if size+len(e.message)+eventOverhead > maxResponseBytes && len(out.Events) > 0 {
				return false
			}
			size += len(e.message) + eventOverhead
			out.Events = append(out.Events, FilteredLogEvent{LogStreamName: streams[e.stream], Timestamp: e.pos.ts,
				Message: e.message, IngestionTime: e.ingested, EventID: e.pos.String()})
		}
		last = e.pos
		scanned++
		return len(out.Events) < limit && scanned < filterScanLimit
	}
	var buf []storedEvent
	err = s.queryEach(ctx, `SELECT id, stream, first_ts, ingested, data FROM log_chunks WHERE grp = ? AND last_ts >= ? AND first_ts <= ? ORDER BY first_ts, id`,
		[]any{g.name, lo, hi}, func(rows *sql.Rows) error {
			if stopped {
				return nil
			}
			var id, sid, first, ingested int64
			var data []byte
			if err := rows.Scan(&id, &sid, &first, &ingested, &data); err != nil {
				return err
			}
			if _, ok := streams[sid]; !ok {
				return nil
			}
			for h.Len() > 0 && h[0].pos.ts < first {
				if !emit(heap.Pop(&h).(storedEvent)) {
					stopped = true
					return nil
				}
			}
			var err error
			if buf, err = decodeChunk(buf[:0], id, sid, first, ingested, data); err != nil {
				return err
			}
			for _, e := range buf {
				heap.Push(&h, e)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("filter log events: %w", err)
	}
	for !stopped && h.Len() > 0 {
		stopped = !emit(heap.Pop(&h).(storedEvent))
	}
	if stopped {
		tok := "p/" + last.String()
		out.NextToken = &tok
	}
	return out, nil
}

// queryEach runs q and calls fn for each row.
func (s *Service) queryEach(ctx context.Context, q string, args []any, fn func(*sql.Rows) error) error {
	rows, err := s.store.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// eventHeap orders events by position.
type eventHeap []storedEvent

func (h eventHeap) Len() int           { return len(h) }
func (h eventHeap) Less(i, j int) bool { return h[i].pos.less(h[j].pos) }
func (h eventHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)        { *h = append(*h, x.(storedEvent)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// DeleteLogGroupInput is DeleteLogGroup's request.
type DeleteLogGroupInput struct {
	LogGroupName *string `json:"logGroupName"`
}

// Empty is the response of operations that return nothing.
type Empty struct{}

// DeleteLogGroup deletes a group with its streams and events. A worker
// still writing to it creates it again with its next line.
func (s *Service) DeleteLogGroup(ctx context.Context, in *DeleteLogGroupInput) (*Empty, error) {
	var v awserr.Violations
	if in.LogGroupName == nil {
		v.Add(nil, "logGroupName", "Member must not be null")
	}
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	if err := violations(&v); err != nil {
		return nil, err
	}
	tx, err := s.store.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("delete log group: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	res, err := tx.ExecContext(ctx, `DELETE FROM log_groups WHERE name = ?`, *in.LogGroupName)
	if err != nil {
		return nil, fmt.Errorf("delete log group: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, errNoGroup()
	}
	for _, q := range []string{`DELETE FROM log_streams WHERE grp = ?`, `DELETE FROM log_chunks WHERE grp = ?`} {
		if _, err := tx.ExecContext(ctx, q, *in.LogGroupName); err != nil {
			return nil, fmt.Errorf("delete log group: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("delete log group: %w", err)
	}
	return &Empty{}, nil
}

// PutRetentionPolicyInput is PutRetentionPolicy's request.
type PutRetentionPolicyInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int32  `json:"retentionInDays"`
}

// PutRetentionPolicy sets how long a group keeps events. Events past it
// disappear from reads at once and are deleted within the hour.
func (s *Service) PutRetentionPolicy(ctx context.Context, in *PutRetentionPolicyInput) (*Empty, error) {
	var v awserr.Violations
	if in.LogGroupName == nil {
		v.Add(nil, "logGroupName", "Member must not be null")
	}
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	if in.RetentionInDays == nil {
		v.Add(nil, "retentionInDays", "Member must not be null")
	} else if !slices.Contains(RetentionDays, *in.RetentionInDays) {
		set := make([]string, len(RetentionDays))
		for i, d := range RetentionDays {
			set[i] = strconv.Itoa(int(d))
		}
		v.Add(in.RetentionInDays, "retentionInDays", "Member must satisfy enum value set: ["+strings.Join(set, ", ")+"]")
	}
	if err := violations(&v); err != nil {
		return nil, err
	}
	return s.setRetention(ctx, *in.LogGroupName, in.RetentionInDays)
}

// DeleteRetentionPolicyInput is DeleteRetentionPolicy's request.
type DeleteRetentionPolicyInput struct {
	LogGroupName *string `json:"logGroupName"`
}

// DeleteRetentionPolicy makes a group keep events until its size bound
// drops them.
func (s *Service) DeleteRetentionPolicy(ctx context.Context, in *DeleteRetentionPolicyInput) (*Empty, error) {
	var v awserr.Violations
	if in.LogGroupName == nil {
		v.Add(nil, "logGroupName", "Member must not be null")
	}
	checkGroupName(&v, "logGroupName", in.LogGroupName)
	if err := violations(&v); err != nil {
		return nil, err
	}
	return s.setRetention(ctx, *in.LogGroupName, nil)
}

func (s *Service) setRetention(ctx context.Context, group string, days *int32) (*Empty, error) {
	var val any
	if days != nil {
		val = int64(*days)
	}
	res, err := s.store.db.ExecContext(ctx, `UPDATE log_groups SET retention = ? WHERE name = ?`, val, group)
	if err != nil {
		return nil, fmt.Errorf("retention policy: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, errNoGroup()
	}
	return &Empty{}, nil
}

// position is an event's place in time order: its timestamp, then its
// ingestion sequence. Tokens and event ids are positions written as 56
// digits, as CloudWatch Logs' are.
type position struct{ ts, id int64 }

func (p position) less(q position) bool {
	return p.ts < q.ts || (p.ts == q.ts && p.id < q.id)
}

func (p position) String() string { return fmt.Sprintf("%020d%036d", p.ts, p.id) }

func parsePosition(s string) (position, bool) {
	if len(s) != 56 || strings.Trim(s, "0123456789") != "" {
		return position{}, false
	}
	ts, err1 := strconv.ParseInt(s[:20], 10, 64)
	id, err2 := strconv.ParseInt(s[20:], 10, 64)
	if err1 != nil || err2 != nil {
		return position{}, false
	}
	return position{ts: ts, id: id}, true
}

// parseToken reads a GetLogEvents token: f/… (forward) or b/… (backward).
func parseToken(tok string) (rune, position, error) {
	if len(tok) > 2 && (tok[0] == 'f' || tok[0] == 'b') && tok[1] == '/' {
		if p, ok := parsePosition(tok[2:]); ok {
			return rune(tok[0]), p, nil
		}
	}
	return 0, position{}, invalid("The specified nextToken is invalid.")
}

func parseFilterToken(tok string) (position, error) {
	if rest, ok := strings.CutPrefix(tok, "p/"); ok {
		if p, ok := parsePosition(rest); ok {
			return p, nil
		}
	}
	return position{}, invalid("The specified nextToken is invalid.")
}

// Listing tokens carry an offset.
// encodeOffset and decodeOffset are a listing's nextToken: its offset,
// bound to the request members that decide the listing (hash, from
// awsapi.RequestHash), as every list operation of Hearth's pages.
func encodeOffset(n int, hash string) *string {
	s := awsapi.PageToken{Offset: n, Hash: hash}.Encode()
	return &s
}

func decodeOffset(tok *string, hash string) (int, error) {
	if tok == nil {
		return 0, nil
	}
	t, ok := awsapi.DecodePageToken(*tok, hash)
	if !ok {
		return 0, invalid("The specified nextToken is invalid.")
	}
	return t.Offset, nil
}
