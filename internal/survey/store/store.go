// Package store keeps a survey durably in a directory: one bbolt database
// (DIR/survey.db) holding the survey's label (its location), the settings
// its points are judged by, the floor plan, and the points. Every change is
// one bbolt transaction, written and fsynced before the call returns, so a
// kill -9 loses at most a point still being measured, and opening the same
// directory again resumes the survey.
//
// One directory is one building and floor: Open refuses a directory
// labelled with another site, building or floor, or holding another plan.
package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // floor plans may be JPEG
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/wardprobe/wardprobe/internal/survey"
	"github.com/wardprobe/wardprobe/probe/coverage"
)

// File is the database's name inside the survey directory.
const File = "survey.db"

// Bounds on what a survey holds.
const (
	// MaxPlanBytes bounds the floor plan file.
	MaxPlanBytes = 32 << 20
	// MaxPlanSide bounds the plan's width and height, pixels.
	MaxPlanSide = 10000
	// MaxPoints bounds the points of one survey.
	MaxPoints = 5000
)

var (
	bucketMeta   = []byte("meta")
	bucketPoints = []byte("points")
	keyLabel     = []byte("label")
	keySettings  = []byte("settings")
	keyPlan      = []byte("plan")
)

// ErrNotFound is returned for a point that does not exist.
var ErrNotFound = errors.New("no such point")

// ErrInUse is returned when another process has the survey open.
var ErrInUse = errors.New("the survey directory is in use by another wardprobe survey")

// Label says which floor a survey is of; it is fixed when the survey starts.
type Label struct {
	Site     string `json:"site"`
	Building string `json:"building"`
	Floor    string `json:"floor"`
	// Ward is the ward of the config that started the survey (a floor may
	// hold several; informative only).
	Ward string `json:"ward"`
	// PlanSHA256 identifies the floor plan; PlanWidth and PlanHeight are its
	// size in pixels.
	PlanSHA256 string    `json:"plan_sha256"`
	PlanWidth  int       `json:"plan_width"`
	PlanHeight int       `json:"plan_height"`
	Created    time.Time `json:"created"`
}

// Settings are what the points are judged and drawn by: the coverage
// settings of the config last used, and where they came from.
type Settings struct {
	Coverage coverage.Settings `json:"coverage"`
	// ConfigFile is the config they came from.
	ConfigFile string `json:"config_file"`
	// StandardSource says where the ward's standard's thresholds come from.
	StandardSource string `json:"standard_source"`
}

// Store is an open survey directory. It is safe for concurrent use.
type Store struct {
	db    *bolt.DB
	dir   string
	label Label
}

// Plan is a decoded floor plan and its file.
type Plan struct {
	Data   []byte
	Image  image.Image
	SHA256 string
}

// DecodePlan checks and decodes a floor plan file (PNG or JPEG).
func DecodePlan(data []byte) (Plan, error) {
	if len(data) > MaxPlanBytes {
		return Plan{}, fmt.Errorf("floor plan is %d bytes, more than %d", len(data), MaxPlanBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Plan{}, fmt.Errorf("floor plan is not a PNG or JPEG image: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxPlanSide || cfg.Height > MaxPlanSide {
		return Plan{}, fmt.Errorf("floor plan is %dx%d pixels; it must be 1..%d on each side", cfg.Width, cfg.Height, MaxPlanSide)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return Plan{}, fmt.Errorf("decoding the %s floor plan: %w", format, err)
	}
	sum := sha256.Sum256(data)
	return Plan{Data: data, Image: img, SHA256: hex.EncodeToString(sum[:])}, nil
}

// ReadPlan reads and decodes a floor plan file.
func ReadPlan(path string) (Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return Plan{}, fmt.Errorf("reading the floor plan: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Plan{}, fmt.Errorf("reading the floor plan: %w", err)
	}
	if st.Size() > MaxPlanBytes {
		return Plan{}, fmt.Errorf("floor plan %s is %d bytes, more than %d", path, st.Size(), MaxPlanBytes)
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return Plan{}, fmt.Errorf("reading the floor plan: %w", err)
	}
	p, err := DecodePlan(data)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Options open a survey directory.
type Options struct {
	// Label is the location of the config starting the survey; a new
	// directory takes it, an existing one must match its site, building
	// and floor.
	Label Label
	// Plan is the floor plan given on the command line; nil to use the one
	// in the directory (an error for a new directory).
	Plan *Plan
	// ReadOnly opens an existing survey for reading (a report).
	ReadOnly bool
	// Now reads the clock (time.Now when nil).
	Now func() time.Time
}

// Open opens (or, unless read-only, creates) the survey in dir.
func Open(dir string, o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	path := filepath.Join(dir, File)
	if o.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s holds no survey: %w", dir, err)
		}
	} else if _, err := os.Stat(path); err != nil && o.Plan == nil {
		return nil, fmt.Errorf("%s is a new survey: give its floor plan with --floor-plan", dir)
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the survey directory: %w", err)
	}
	db, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: time.Second, ReadOnly: o.ReadOnly})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%s: %w", dir, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the survey database %s: %w", path, err)
	}
	s := &Store{db: db, dir: dir}
	if o.ReadOnly {
		err = db.View(func(tx *bolt.Tx) error { return s.readLabel(tx) })
	} else {
		err = db.Update(func(tx *bolt.Tx) error { return s.init(tx, o) })
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) readLabel(tx *bolt.Tx) error {
	m := tx.Bucket(bucketMeta)
	if m == nil || m.Get(keyLabel) == nil {
		return fmt.Errorf("%s holds no survey (its database has no label)", s.dir)
	}
	if err := json.Unmarshal(m.Get(keyLabel), &s.label); err != nil {
		return fmt.Errorf("reading the survey's label: %w", err)
	}
	return nil
}

// init creates the buckets and label of a new survey, or checks that an
// existing one is of the same floor and plan.
func (s *Store) init(tx *bolt.Tx, o Options) error {
	m, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("creating the survey database: %w", err)
	}
	if _, err := tx.CreateBucketIfNotExists(bucketPoints); err != nil {
		return fmt.Errorf("creating the survey database: %w", err)
	}
	if m.Get(keyLabel) == nil {
		if o.Plan == nil {
			return fmt.Errorf("%s is a new survey: give its floor plan with --floor-plan", s.dir)
		}
		l := o.Label
		b := o.Plan.Image.Bounds()
		l.PlanSHA256, l.PlanWidth, l.PlanHeight, l.Created = o.Plan.SHA256, b.Dx(), b.Dy(), o.Now().UTC()
		data, err := json.Marshal(l)
		if err != nil {
			return err
		}
		s.label = l
		if err := m.Put(keyPlan, o.Plan.Data); err != nil {
			return fmt.Errorf("storing the floor plan: %w", err)
		}
		return m.Put(keyLabel, data)
	}
	if err := s.readLabel(tx); err != nil {
		return err
	}
	have, want := s.label, o.Label
	if have.Site != want.Site || have.Building != want.Building || have.Floor != want.Floor {
		return fmt.Errorf("%s holds the survey of %s, %s, floor %s; this config is for %s, %s, floor %s: use one directory per building and floor",
			s.dir, have.Site, have.Building, have.Floor, want.Site, want.Building, want.Floor)
	}
	if o.Plan != nil && o.Plan.SHA256 != have.PlanSHA256 {
		return fmt.Errorf("%s was surveyed on another floor plan (sha256 %.12s…, this one %.12s…): keep the plan, or start a new directory",
			s.dir, have.PlanSHA256, o.Plan.SHA256)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dir returns the survey directory.
func (s *Store) Dir() string { return s.dir }

// Label returns the survey's label.
func (s *Store) Label() Label { return s.label }

// Plan returns the floor plan.
func (s *Store) Plan() (Plan, error) {
	var data []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		data = bytes.Clone(tx.Bucket(bucketMeta).Get(keyPlan))
		return nil
	})
	if err != nil {
		return Plan{}, err
	}
	if data == nil {
		return Plan{}, errors.New("the survey has no floor plan")
	}
	return DecodePlan(data)
}

// SetSettings records the settings the points are judged by.
func (s *Store) SetSettings(st Settings) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySettings, data) })
}

// Settings returns the settings last recorded (ok false when none).
func (s *Store) Settings() (st Settings, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucketMeta).Get(keySettings)
		if data == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(data, &st)
	})
	return st, ok, err
}

func key(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// Add stores a new point, giving it the next id, and returns it.
func (s *Store) Add(p survey.Point) (survey.Point, error) {
	if !survey.Valid(p.X, p.Y) {
		return survey.Point{}, fmt.Errorf("position %g,%g is off the plan (0..1)", p.X, p.Y)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPoints)
		if b.Stats().KeyN >= MaxPoints {
			return fmt.Errorf("the survey holds %d points already, the most one floor may have", MaxPoints)
		}
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		p.ID = id
		p.Verdict = nil
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return b.Put(key(id), data)
	})
	if err != nil {
		return survey.Point{}, fmt.Errorf("storing the point: %w", err)
	}
	return p, nil
}

// Move puts point id at x,y.
func (s *Store) Move(id uint64, x, y float64) (survey.Point, error) {
	if !survey.Valid(x, y) {
		return survey.Point{}, fmt.Errorf("position %g,%g is off the plan (0..1)", x, y)
	}
	var p survey.Point
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPoints)
		data := b.Get(key(id))
		if data == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(data, &p); err != nil {
			return fmt.Errorf("point %d is unreadable: %w", id, err)
		}
		p.X, p.Y = x, y
		data, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return b.Put(key(id), data)
	})
	return p, err
}

// Delete removes point id.
func (s *Store) Delete(id uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPoints)
		if b.Get(key(id)) == nil {
			return ErrNotFound
		}
		return b.Delete(key(id))
	})
}

// Points returns every point, in id order.
func (s *Store) Points() ([]survey.Point, error) {
	out := []survey.Point{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPoints).ForEach(func(k, v []byte) error {
			var p survey.Point
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("point %x is unreadable: %w", k, err)
			}
			out = append(out, p)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// EncodePlanPNG re-encodes a plan as PNG (for plans given as JPEG).
func EncodePlanPNG(p Plan) ([]byte, error) {
	if _, format, err := image.DecodeConfig(bytes.NewReader(p.Data)); err == nil && format == "png" {
		return p.Data, nil
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, p.Image); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
