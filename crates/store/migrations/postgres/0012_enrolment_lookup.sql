-- A person's current medical enrolment (read by every settlement and person lookup: the
-- latest active or retired one) straight from an index in start-date order, instead of
-- collecting the person's enrolments and sorting them in a temporary B-tree each time. The
-- index by person alone is a prefix of the new one.
CREATE INDEX enrolments_person_insurance ON enrolments(person_id, insurance, start_date);
DROP INDEX enrolments_person;
