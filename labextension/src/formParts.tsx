// The dialog's labelled field: its label, the control, a hint, and its error (by the label).

import React from 'react';
import type { IFormState } from './form';

export type Update = (changes: Partial<IFormState>) => void;

export function FieldError(props: { id: string; message?: string }): JSX.Element | null {
  return props.message ? (
    <div className="nx-FieldError" id={props.id} role="alert">
      {props.message}
    </div>
  ) : null;
}

export interface IFieldProps {
  id: string;
  label: string;
  error?: string;
  children: React.ReactElement;
  hint?: string;
}

export function Field(props: IFieldProps): JSX.Element {
  const describedBy = props.error ? `${props.id}-error` : undefined;
  return (
    <div className="nx-Field">
      <label htmlFor={props.id}>{props.label}</label>
      {React.cloneElement(props.children, { id: props.id, 'aria-invalid': !!props.error, 'aria-describedby': describedBy })}
      {props.hint && <div className="nx-Hint">{props.hint}</div>}
      <FieldError id={`${props.id}-error`} message={props.error} />
    </div>
  );
}
